"""The command line: the one place where errors become exit codes.

Exit codes: 0 done; 1 internal error; 2 usage; 3 an input cannot be opened; 4 not a capture;
5 a capture is damaged part-way (what came before the damage is still output).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from agent import __version__
from agent.capture import open_capture
from agent.errors import ResidencyError
from agent.pipeline import FlowPipeline, flows_from
from agent.render import stats_line, write_csv, write_jsonl, write_table


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


@click.group()
@click.version_option(__version__, prog_name="residency")
def main() -> None:
    """residency: prove from the network where traffic goes."""


@main.command()
@click.argument("captures", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one flow per line.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
@click.option("--stats", is_flag=True, help="Print full statistics (as JSON with --json).")
@click.option("--idle-timeout", default=0.0, show_default=True, metavar="SECS",
              help="End a flow idle this long (capture time); 0: never.")  # fmt: skip
@click.option("--active-timeout", default=0.0, show_default=True, metavar="SECS",
              help="End a flow that lived this long; 0: never.")  # fmt: skip
@reports_errors
def flows(
    captures: tuple[str, ...], as_json: bool, as_csv: bool, stats: bool,
    idle_timeout: float, active_timeout: float,
) -> None:  # fmt: skip
    """List the flows in pcap/pcapng CAPTURES (gzipped or not), initiator first."""
    out = sys.stdout
    for n, path in enumerate(captures):
        pipe = FlowPipeline(idle_timeout, active_timeout)
        try:
            with open_capture(path) as source:
                found = flows_from(source, pipe)
                if as_json:
                    write_jsonl(found, out, path)
                elif as_csv:
                    write_csv(found, out, path, header=n == 0)
                else:
                    write_table(found, out)
        finally:
            _report(path, pipe, as_json, stats)


def _report(path: str, pipe: FlowPipeline, as_json: bool, full: bool) -> None:
    """Statistics and warnings go to stderr, so stdout stays pure data."""
    s = pipe.stats
    for warning in s.warnings:
        click.echo(f"warning: {warning}", err=True)
    if full and as_json:
        click.echo(json.dumps({"capture": path, "stats": s.as_dict()}), err=True)
    else:
        click.echo(stats_line(path, s), err=True)
