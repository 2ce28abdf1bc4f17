"""When the traffic began, found before it is judged, so that it is judged by the range versions
in force then: the earliest record over the captures, or for a journal `--since` (else its
first flow). An edge: it opens captures and journals; `report verify` finds it the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from agent.capture.source import first_timestamp
from agent.findings.dating import FIRST_FLOW, FIRST_PACKET, SINCE, Dating
from agent.records.source import record_kind, records_first_ns

if TYPE_CHECKING:  # imported where used: analysing captures opens no journal
    from agent.journal import Head


def of_captures(
    paths: Sequence[str], since_ns: int | None = None, as_of_ns: int | None = None
) -> Dating:
    """The earliest first timestamp over `paths` (captures without records do not count), or
    `since_ns` where it is later (the flows before it are not judged)."""
    files = [p for p in paths if p != "-"]  # standard input is refused later, never read twice
    starts = [t for t in map(_first_ns, files) if t is not None]
    if since_ns is not None and (not starts or since_ns > min(starts)):
        return Dating(since_ns, SINCE, as_of_ns)
    return Dating(min(starts), FIRST_PACKET, as_of_ns) if starts else Dating(None, None, as_of_ns)


def _first_ns(path: str) -> int | None:
    """A capture's first timestamp, or the earliest record of a flow record file."""
    return first_timestamp(path) if record_kind(path) is None else records_first_ns(path)


def of_journal(
    path: str, since_ns: int | None, as_of_ns: int | None = None, head: Head | None = None
) -> Dating:
    """`since_ns` when given, else the first journaled flow's first packet (no later than the
    row `head`, when given: a re-run reads what the report read)."""
    from agent.journal import Journal

    if since_ns is not None:
        return Dating(since_ns, SINCE, as_of_ns)
    with Journal.open(path) as journal:
        for row in journal.flows():
            if head is None or row.seq <= head.seq:
                return Dating(row.flow.first_ns, FIRST_FLOW, as_of_ns)
    return Dating(None, None, as_of_ns)
