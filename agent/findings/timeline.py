"""The timeline's bins: a width picked from the period, so a 12-second capture and a ten-year
archive both give a chart of a readable number of bars (at most MAX_BINS).

The tally counts at the finest width whose bins still number at most MAX_BINS, coarsening by
exact sums when a finer one would hold more; widths up to a day nest, so a coarser count is the
sum of finer ones, and the tally never goes above a day (one entry per day and verdict at most).
The document then sums those into the width the period calls for (a week, month, quarter or
year is a sum of days). Any order of flows gives the same bins; below a day, at most MAX_BINS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from agent.intel.records import I64

MAX_BINS = 120
"""The most bars a timeline draws: 6 px each across the chart."""
DAY = 86_400


@dataclass(frozen=True, slots=True)
class Width:
    """One bin width: `seconds` wide from `offset` (the epoch, so UTC midnight; a Monday for a
    week), or `months` calendar months from January (`seconds` is then nominal)."""

    name: str
    seconds: int
    months: int = 0
    offset: int = 0

    def floor(self, sec: int) -> int:
        """The start (epoch seconds) of the bin holding `sec`."""
        if not self.months:
            return sec - (sec - self.offset) % self.seconds
        t = datetime.fromtimestamp(sec, UTC)
        return _month_start(_month(t) - _month(t) % self.months)

    def after(self, start: int) -> int:
        """The start of the bin after the one starting at `start`."""
        if not self.months:
            return start + self.seconds
        return _month_start(_month(datetime.fromtimestamp(start, UTC)) + self.months)

    def count(self, first: int, last: int) -> int:
        """How many bins [first, last] (epoch seconds) spans."""
        a, b = self.floor(first), self.floor(last)
        if not self.months:
            return (b - a) // self.seconds + 1
        months = _month(datetime.fromtimestamp(b, UTC)) - _month(datetime.fromtimestamp(a, UTC))
        return months // self.months + 1


def _month(t: datetime) -> int:
    """Months since year 0."""
    return t.year * 12 + t.month - 1


def _month_start(month: int) -> int:
    return int(datetime(month // 12, month % 12 + 1, 1, tzinfo=UTC).timestamp())


WIDTHS = (
    Width("1 s", 1), Width("10 s", 10), Width("1 min", 60), Width("10 min", 600),
    Width("1 h", 3600), Width("6 h", 6 * 3600), Width("1 day", DAY),
    Width("1 week", 7 * DAY, offset=4 * DAY),  # 1970-01-05 was a Monday
    Width("1 month", 30 * DAY, months=1), Width("3 months", 91 * DAY, months=3),
    Width("1 year", 365 * DAY, months=12),
)  # fmt: skip
BY_NAME = {w.name: w for w in WIDTHS}
FINEST_KEPT = WIDTHS.index(BY_NAME["1 day"])
"""The coarsest width the tally counts at: every wider one is a sum of days."""


def pick(first_ns: int, last_ns: int) -> Width:
    """The finest width that spans the period in at most MAX_BINS bins (else a year)."""
    a, b = first_ns // 1_000_000_000, last_ns // 1_000_000_000
    return next((w for w in WIDTHS if w.count(a, b) <= MAX_BINS), WIDTHS[-1])


@dataclass(slots=True)
class Timeline:
    """Flows and bytes by bin start (epoch seconds) and verdict, counted at each flow's first
    packet."""

    level: int = 0
    """Index into WIDTHS of the width counted at now."""
    bins: dict[int, dict[str, list[int]]] = field(default_factory=dict)
    """Bin start -> verdict -> [flows, bytes]."""

    def add(self, first_ns: int, kind: str, flows: int, nbytes: int) -> None:
        start = WIDTHS[self.level].floor(first_ns // 1_000_000_000)
        by = self.bins.get(start)
        if by is None:
            by = self.bins[start] = {}
        c = by.setdefault(kind, [0, 0])
        c[0] += flows
        c[1] += nbytes
        if len(self.bins) > MAX_BINS and self.level < FINEST_KEPT:
            self._coarsen()

    def fit(self, first_ns: I64) -> None:
        """Coarsen, before flows starting at `first_ns` are added, to the width adding them
        one by one would end at: the finest whose bins, with those counted, number at most
        MAX_BINS (widths up to a day nest, so the count at each width only grows)."""
        sec = np.sort(first_ns // 1_000_000_000)
        while self.level < FINEST_KEPT:
            w = WIDTHS[self.level]
            starts = sec - (sec - w.offset) % w.seconds  # sorted too
            new = np.ones(len(starts), bool)
            new[1:] = starts[1:] != starts[:-1]
            if np.count_nonzero(new) <= MAX_BINS and len(
                    self.bins.keys() | set(starts[new].tolist())) <= MAX_BINS:  # fmt: skip
                return
            self.level += 1
            self.bins = _rebin(self.bins, WIDTHS[self.level])

    def _coarsen(self) -> None:
        """Sum into the next width until the bins number at most MAX_BINS again: then the
        period spans more bins than that at every finer width, which is never picked."""
        while len(self.bins) > MAX_BINS and self.level < FINEST_KEPT:
            self.level += 1
            self.bins = _rebin(self.bins, WIDTHS[self.level])

    def rows(self, first_ns: int, last_ns: int) -> tuple[Width, list[tuple[int, str, int, int]]]:
        """The width the period calls for, and (start, verdict, flows, bytes) in that width,
        by start and verdict."""
        width = pick(first_ns, last_ns)
        if WIDTHS.index(width) < self.level:  # cannot happen (see _coarsen); never lie about it
            raise AssertionError(f"timeline counted by {WIDTHS[self.level].name}, asked {width}")
        binned = _rebin(self.bins, width)
        return width, [(s, k, *_pair(binned[s][k])) for s in sorted(binned)
                       for k in sorted(binned[s])]  # fmt: skip


def _pair(c: list[int]) -> tuple[int, int]:
    return c[0], c[1]


def _rebin(bins: dict[int, dict[str, list[int]]], width: Width) -> dict[int, dict[str, list[int]]]:
    out: dict[int, dict[str, list[int]]] = {}
    for start, by in bins.items():
        into = out.setdefault(width.floor(start), {})
        for kind, (flows, nbytes) in by.items():
            c = into.setdefault(kind, [0, 0])
            c[0] += flows
            c[1] += nbytes
    return out
