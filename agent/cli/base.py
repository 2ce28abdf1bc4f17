"""The command line: the one place where errors become exit codes.

Exit codes: 0 done (for `analyze`: compliant; `crosscheck`: the sources agree); 1 `analyze`
found violations or unverified traffic, `crosscheck` flows or bytes one source has and the other
has not; 2 usage (or an argument that is not an address); 3 an input cannot be opened; 4 not a
capture; 5 a capture is damaged part-way (what came before the damage is still used); 6 a range,
country or sites file cannot be used; 7 a download failed; 8 a policy file is wrong; 9 the
journal cannot be used; 10 a report cannot be read or fails verification; 11 a wrong daemon
configuration; 12 nothing was in scope (no flows, or a scope that selects none of them: the
answer proves nothing); 13 `report verify`: the signature checked, the analysis not re-run (the
report's inputs were not found); 14 the evidence lake cannot be used, or sealing would change a
sealed day; 70 an internal error; 130 interrupted (Ctrl-C); 141 the reader of the output went
away (`residency flows X | head`).

Warnings go to stderr as `warning: ...` through `warn`, and `--quiet` (to `residency` or to
any command) silences them all.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from agent import __version__
from agent.errors import ResidencyError

NOT_RERUN = 13
"""`report verify`: the signature is good, but the inputs were not found to re-run it."""
QUIET = "residency.quiet"


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


class Command(click.Group):
    """The root command: Ctrl-C and a closed pipe end it as Unix tools end, without a
    traceback."""

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


def accept_quiet(group: click.Group) -> None:
    """Give every command under `group` the same `--quiet` as `residency --quiet`."""
    for command in group.commands.values():
        if not any(p.name == "quiet" for p in command.params):
            command.params.append(quiet_option())
        if isinstance(command, click.Group):
            accept_quiet(command)


@click.group(cls=Command, params=[quiet_option()])
@click.version_option(__version__, prog_name="residency")
def main() -> None:
    """residency: prove from the network where traffic goes."""
