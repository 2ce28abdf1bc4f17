"""The `residency` command: one module per group of commands, all on `main`."""

from agent.cli import compliance, crosscheck, daemon, fleet, flows, ranges, report
from agent.cli.base import accept_quiet, main

accept_quiet(main)

__all__ = ["compliance", "crosscheck", "daemon", "fleet", "flows", "main", "ranges", "report"]
