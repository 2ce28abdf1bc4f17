"""The command line: the one place where errors become exit codes.

Each error class carries its exit code (the tree in `agent.errors`); the codes that are not
errors are here: 1 (`analyze` found violations), 13 (`report verify` could not re-run), 130
(Ctrl-C) and 141 (a closed pipe). README's table lists them all, and a test holds the three
together.

Warnings go to stderr as `warning: ...` through `warn`, and `--quiet` (to `residency` or to
any command) silences them all.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

import click

from agent import __version__
from agent.errors import ResidencyError

NOT_RERUN = 13
"""`report verify`: the signature is good, but the inputs were not found to re-run it."""
QUIET = "residency.quiet"


def utcnow() -> datetime:
    """The wall clock, read here at the edge and passed in to whatever needs the date."""
    return datetime.now(UTC)


def reports_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the project's errors into one `error:` line and their exit code."""

    @wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ResidencyError as err:
            sys.stdout.flush()
            click.echo(f"error: {err}", err=True)
            sys.exit(err.exit_code)

    return run


INTERRUPTED, CLOSED_PIPE = 130, 141
"""As a shell reports a command ended by SIGINT or SIGPIPE."""


COMMANDS = {
    "analyze": "compliance", "policy": "compliance", "crosscheck": "crosscheck", "daemon": "daemon",
    "watch": "daemon", "journal": "daemon", "lake": "fleet", "fleet": "fleet",
    "export": "fleet", "flows": "flows", "names": "flows", "ranges": "ranges",
    "lookup": "ranges", "report": "report", "keys": "report",
}  # fmt: skip
"""Each command's module under `agent.cli`, imported when the command is asked for: `residency
flows` then loads only what listing flows needs, not the judge, the reports and the fleet."""


class Command(click.Group):
    """The root command: its commands load on demand (COMMANDS); Ctrl-C and a closed pipe end
    it as Unix tools end, without a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            importlib.import_module(f"agent.cli.{COMMANDS[cmd_name]}")
            gc.freeze()  # what the imports made lives as long as the process: not walked again
        command = self.commands.get(cmd_name)
        if command is not None:
            accept_quiet(command)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("\ninterrupted", err=True)
            sys.exit(INTERRUPTED)
        except BrokenPipeError:
            # Nothing more can be written, not even at exit's flush: point stdout at nothing.
            with contextlib.suppress(OSError, ValueError):  # no descriptor: a test's buffer
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(CLOSED_PIPE)


def warn(message: str) -> None:
    """One `warning:` line on stderr, unless `--quiet` was given."""
    if not quiet():
        click.echo(f"warning: {message}", err=True)


def quiet() -> bool:
    """Whether `--quiet` was given, to `residency` or to the command."""
    ctx = click.get_current_context(silent=True)
    return ctx is not None and bool(ctx.meta.get(QUIET))


def _quiet(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[QUIET] = True  # meta is shared by the whole chain of contexts


def quiet_option() -> click.Option:
    return click.Option(["--quiet", "-q"], is_flag=True, expose_value=False, is_eager=True,
                        callback=_quiet, help="Print no warnings.")  # fmt: skip


def accept_quiet(command: click.Command) -> None:
    """Give the command, and every command under it, the same `--quiet` as `residency
    --quiet`."""
    if not any(p.name == "quiet" for p in command.params):
        command.params.append(quiet_option())
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            accept_quiet(sub)


@click.group(cls=Command, params=[quiet_option()])
@click.version_option(__version__, prog_name="residency")
def main() -> None:
    """residency: prove from the network where traffic goes."""
