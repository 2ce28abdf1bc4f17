"""The `residency` command: one module per group of commands, all on `main`."""

from agent.cli import analyze, flows, ranges
from agent.cli.base import main

__all__ = ["analyze", "flows", "main", "ranges"]
