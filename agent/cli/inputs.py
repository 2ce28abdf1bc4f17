"""The range data `analyze` and `report` judge with, and the warnings about it, in one place so
the two commands cannot drift: a report must rest on what `analyze` would have used."""

from __future__ import annotations

from datetime import UTC, datetime

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


def _utc(when: datetime | None) -> datetime | None:
    """A command-line time, given without a zone, as UTC."""
    return when.replace(tzinfo=UTC) if when else None
