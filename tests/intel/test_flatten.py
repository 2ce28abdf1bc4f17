"""Nested and disjoint ranges flattened to segments answer like a brute-force longest match."""

from __future__ import annotations

import bisect

from hypothesis import given
from hypothesis import strategies as st

from agent.intel.flatten import disjoint, flatten, join, split

BITS = 8


@st.composite
def cidrs(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    first, last = [], []
    for _ in range(draw(st.integers(0, 12))):
        size = 1 << draw(st.integers(0, BITS))
        base = draw(st.integers(0, (1 << BITS) - 1)) // size * size
        first.append(base)
        last.append(base + size - 1)
    return first, last


def innermost(first: list[int], last: list[int], q: int) -> tuple[int, int] | None:
    hits = [(b - a, a, b) for a, b in zip(first, last, strict=True) if a <= q <= b]
    return min(hits)[1:] if hits else None


@given(cidrs())
def test_flatten_is_longest_prefix_match(ranges: tuple[list[int], list[int]]) -> None:
    first, last = ranges
    starts, owner = flatten(first, last)
    assert starts == sorted(set(starts)) and starts[0] == 0
    for q in range(1 << BITS):
        who = owner[bisect.bisect_right(starts, q) - 1]
        got = (first[who], last[who]) if who >= 0 else None
        assert got == innermost(first, last, q)


@given(st.lists(st.integers(0, (1 << BITS) - 1), max_size=20, unique=True))
def test_disjoint_fast_path_agrees_with_the_sweep(points: list[int]) -> None:
    points.sort()
    first, last = points[0::2], points[1::2]
    first = first[: len(last)]
    fast = disjoint(*split(first), *split(last))
    assert fast is not None
    starts, owner = join(fast[0], fast[1]), fast[2].tolist()
    ref_starts, ref_owner = flatten(first, last)
    for q in range(1 << BITS):
        assert (
            owner[bisect.bisect_right(starts, q) - 1]
            == ref_owner[bisect.bisect_right(ref_starts, q) - 1]
        )


def test_overlapping_ranges_are_refused_by_the_fast_path() -> None:
    assert disjoint(*split([0, 5]), *split([9, 20])) is None


def test_the_top_of_the_address_space() -> None:
    top = (1 << 128) - 1
    starts, owner = flatten([top - 255, top], [top, top])
    assert (starts, owner) == ([0, top - 255, top], [-1, 0, 1])
