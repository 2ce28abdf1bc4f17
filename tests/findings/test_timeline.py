"""The timeline's bin width follows the period: a 12-second capture is drawn by the second, a
ten-year archive by the quarter; the tally's bins stay bounded and do not depend on the order
flows arrive in."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from agent.findings.timeline import MAX_BINS, WIDTHS, Timeline, pick

S = 1_000_000_000


def ns(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()) * S


@pytest.mark.parametrize("first, last, width", [
    ("2026-03-02T14:00:05", "2026-03-02T14:00:17", "1 s"),      # a 12-second capture
    ("2026-03-02T14:00:00", "2026-03-02T14:15:00", "10 s"),
    ("2026-03-02T14:00:00", "2026-03-02T15:00:00", "1 min"),
    ("2026-03-02T14:00:00", "2026-03-02T20:00:00", "10 min"),
    ("2026-03-02T00:00:00", "2026-03-04T00:00:00", "1 h"),
    ("2026-03-02T00:00:00", "2026-03-20T00:00:00", "6 h"),
    ("2026-01-01T00:00:00", "2026-03-31T00:00:00", "1 day"),
    ("2025-01-01T00:00:00", "2026-06-30T00:00:00", "1 week"),
    ("2020-01-01T00:00:00", "2026-06-30T00:00:00", "1 month"),
    ("2016-03-15T00:00:00", "2026-03-14T00:00:00", "3 months"),  # ten years, 121 months
    ("1990-01-01T00:00:00", "2026-06-30T00:00:00", "1 year"),
])  # fmt: skip
def test_the_width_is_the_finest_that_spans_the_period_in_few_bins(
    first: str, last: str, width: str
) -> None:
    w = pick(ns(first), ns(last))
    assert w.name == width
    assert w.count(ns(first) // S, ns(last) // S) <= MAX_BINS
    finer = WIDTHS[WIDTHS.index(w) - 1] if WIDTHS.index(w) else None
    assert finer is None or finer.count(ns(first) // S, ns(last) // S) > MAX_BINS


def test_calendar_bins_start_where_a_reader_expects() -> None:
    by = {w.name: w for w in WIDTHS}
    t = ns("2026-08-20T13:45:12") // S
    starts = {name: datetime.fromtimestamp(by[name].floor(t), UTC).isoformat()[:19]
              for name in ("10 min", "6 h", "1 week", "1 month", "3 months", "1 year")}
    assert starts == {"10 min": "2026-08-20T13:40:00", "6 h": "2026-08-20T12:00:00",
                      "1 week": "2026-08-17T00:00:00", "1 month": "2026-08-01T00:00:00",
                      "3 months": "2026-07-01T00:00:00", "1 year": "2026-01-01T00:00:00"}
    assert datetime.fromtimestamp(by["1 month"].after(ns("2026-12-01T00:00:00") // S),
                                  UTC).isoformat()[:10] == "2027-01-01"  # fmt: skip


def flows(first: int, last: int, n: int, seed: int) -> list[tuple[int, str, int]]:
    rng = random.Random(seed)
    return [(rng.randrange(first, last + 1), rng.choice(["approved", "violation"]),
             rng.randrange(1, 10_000)) for _ in range(n)]  # fmt: skip


@pytest.mark.parametrize("span", [12 * S, 5 * 3600 * S, 400 * 86_400 * S, 3653 * 86_400 * S])
def test_bins_are_bounded_order_free_and_add_up(span: int) -> None:
    first = ns("2016-03-15T08:00:00")
    seen = [*flows(first, first + span, 3000, 1), (first, "approved", 7),
            (first + span, "exempt", 9)]  # fmt: skip
    counted = []
    for order in range(3):
        random.Random(order).shuffle(seen)
        t = Timeline()
        for when, kind, nbytes in seen:
            t.add(when, kind, 1, nbytes)
            assert len(t.bins) <= max(MAX_BINS, span // S // 86_400 + 1)
        counted.append(t.rows(first, first + span))
    assert counted[0] == counted[1] == counted[2]
    width, rows = counted[0]
    assert width == pick(first, first + span)
    assert sum(r[2] for r in rows) == len(seen) and sum(r[3] for r in rows) == sum(
        b for _, _, b in seen)  # fmt: skip
    assert len({r[0] for r in rows}) <= MAX_BINS
    assert all(width.floor(r[0]) == r[0] for r in rows)
