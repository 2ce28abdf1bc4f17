"""The `residency` command: one module per group of commands, all on `main`, each imported
when one of its commands is run (`agent.cli.base.COMMANDS`)."""

from agent.cli.base import main

__all__ = ["main"]
