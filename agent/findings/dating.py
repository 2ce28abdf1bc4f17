"""How the range versions stand to the traffic's time: which moment they were chosen for, and,
for each version, its publication date and its distance from the period's start, either way.

Pure: the traffic's start is found before the run (`agent.chain.period`), and the versions chosen
for it (`agent.intel.store.in_force`); this module only measures and words the result, once,
for the document, the terminal and the report alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from agent.findings.headline import plural
from agent.intel.store import STALE_AFTER, UNDATED_KINDS
from agent.model import seconds

FIRST_PACKET, SINCE, FIRST_FLOW = "first packet", "since", "first journaled flow"
"""Where the period's start comes from: the earliest record over the captures, `--since`, or
the first flow of a journal."""
PERIOD_START, AS_OF, NOW = "period start", "as-of", "now"
"""What the versions were chosen for: the period's start, an explicit `--as-of`, or (no
traffic, no `--as-of`) the newest stored."""


@dataclass(frozen=True, slots=True)
class Dating:
    """The moment the range versions were chosen for, and the traffic's start."""

    start_ns: int | None
    """The period's start (ns since the epoch); None when the inputs hold no traffic."""
    start_from: str | None
    """FIRST_PACKET, SINCE or FIRST_FLOW; None with no start."""
    as_of_ns: int | None = None
    """`--as-of`, when given: it overrides the period's start for choosing, not for measuring."""

    @property
    def chosen_for(self) -> datetime | None:
        """When the versions in force are taken at; None: the newest stored."""
        return _at(self._chosen_ns)

    @property
    def _chosen_ns(self) -> int | None:
        return self.as_of_ns if self.as_of_ns is not None else self.start_ns

    def as_dict(self) -> dict[str, Any]:
        by = AS_OF if self.as_of_ns is not None else NOW if self.start_ns is None else PERIOD_START
        at = self._chosen_ns
        return {
            "period_start": _time(self.start_ns), "start_from": self.start_from,
            "chosen_for": _time(at), "chosen_by": by,
        }  # fmt: skip


NO_DATING = Dating(None, None)


def distance(slot: str, created: str, dating: Dating) -> dict[str, Any]:
    """One version's date against the period's start: `published` (the source's own date,
    None when it does not say), whole days before the start or after it (None the other way,
    or both when either date is unknown), and the flags `later_than_traffic` and `stale`."""
    published = _parse(created)
    start = _at(dating.start_ns)
    before = after = None
    if published is not None and start is not None:
        if published <= start:
            before = (start - published).days
        else:
            after = (published - start).days
    kind = slot.split(":", 1)[0]
    stale = before is not None and start is not None and published is not None and (
        start - published > STALE_AFTER and kind not in UNDATED_KINDS
    )
    return {
        "published": None if published is None else _iso(published),
        "days_before_period": before, "days_after_period": after,
        "later_than_traffic": after is not None, "stale": bool(stale),
    }  # fmt: skip


def notices(ranges: list[dict[str, Any]], dating: Dating) -> list[str]:
    """One sentence for each version that is later than the traffic or stale for it."""
    start = _at(dating.start_ns)
    if start is None:
        return []
    day = start.date().isoformat()
    out = []
    for r in ranges:
        what = f"{r['slot']} data ({r['version']}, published {(r['published'] or '')[:10]})"
        if r["later_than_traffic"]:
            out.append(f"{what} is {plural(r['days_after_period'], 'day')} later than the traffic, "
                       f"which began {day}: it may place addresses where they were not then")
        elif r["stale"]:
            out.append(f"{what} is {plural(r['days_before_period'], 'day')} older than the "
                       f"traffic, which began {day}; import a version published nearer to it")
    return out


def _parse(created: str) -> datetime | None:
    if not created:
        return None
    when = datetime.fromisoformat(created)
    return when if when.tzinfo else when.replace(tzinfo=UTC)  # the providers write UTC


def _at(ns: int | None) -> datetime | None:
    if ns is None:
        return None
    return datetime.fromtimestamp(ns // 1_000_000_000, UTC) + timedelta(
        microseconds=ns % 1_000_000_000 // 1000
    )


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _time(ns: int | None) -> str | None:
    return None if ns is None else seconds(ns)
