"""What `flows`, `analyze` and `report` read, set up in one place so the commands cannot drift
(a report must rest on what `analyze` would have used): the range data and its warnings, and the
journal window that can stand in for captures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from agent.intel.store import Store, Stored, stale, utcnow


def range_inputs(as_of: datetime | None) -> tuple[Store, list[Stored]]:
    """The store and, per slot, the range versions current at `as_of` (now when None); warns
    when there are none, since every destination would then be unverified."""
    store = Store()
    chosen = store.current(_utc(as_of))
    if not chosen:
        click.echo(f"warning: no range data in {store.root}: every destination will be "
                   "unverified; use `residency ranges import` or `update`", err=True)  # fmt: skip
    return store, chosen


def warn_stale(chosen: list[Stored], last_ns: int | None, as_of: datetime | None) -> None:
    """Warn of range versions too old for the traffic: judged at its last packet (a year-old
    capture is judged by the data of its day), else at `as_of`, else now."""
    when = datetime.fromtimestamp(last_ns / 1e9, UTC) if last_ns else _utc(as_of) or utcnow()
    for warning in stale(chosen, when):
        click.echo(f"warning: {warning}", err=True)


F = TypeVar("F", bound=Callable[..., Any])


def journal_window(fn: F) -> F:
    """The options `--journal PATH --since T --until T`, the same wherever a daemon's journal
    can stand in for captures."""
    for option in (
        click.option("--until", type=click.DateTime(), help="With --journal: up to then (UTC)."),
        click.option("--since", type=click.DateTime(), help="With --journal: from then (UTC)."),
        click.option("--journal", "journal_path", metavar="PATH",
                     help="Read the flows a daemon journaled instead of captures."),
    ):  # fmt: skip
        fn = option(fn)
    return fn


def one_source(captures: tuple[str, ...], journal_path: str | None) -> None:
    if bool(captures) == bool(journal_path):
        raise click.UsageError("give CAPTURES or --journal PATH (one of them)")


def ns(when: datetime | None) -> int | None:
    """A UTC wall time from the command line as ns since the epoch (None stays None)."""
    return None if when is None else int(when.replace(tzinfo=UTC).timestamp() * 1e9)


def _utc(when: datetime | None) -> datetime | None:
    """A command-line time, given without a zone, as UTC."""
    return when.replace(tzinfo=UTC) if when else None
