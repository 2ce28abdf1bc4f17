"""The command line: the one place where errors become exit codes.

Exit codes: 0 done (for `analyze`: compliant); 1 `analyze` found violations or unverified
traffic; 2 usage (or an argument that is not an address); 3 an input cannot be opened; 4 not a
capture; 5 a capture is damaged part-way (what came before the damage is still used); 6 a range,
country or sites file cannot be used; 7 a download failed; 8 a policy file is wrong; 9 the
journal cannot be used; 10 a report cannot be read or fails verification; 70 an internal error;
130 interrupted (Ctrl-C); 141 the reader of the output went away (`residency flows X | head`).
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


@click.group(cls=Command)
@click.version_option(__version__, prog_name="residency")
def main() -> None:
    """residency: prove from the network where traffic goes."""
