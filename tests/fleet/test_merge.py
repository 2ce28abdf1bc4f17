"""Merge is associative and commutative with the empty table as identity, and the map does not
care how the rows are cut: judging a host-day whole or in any split gives the same partials."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.fleet import partial
from agent.fleet.columns import to_table
from agent.fleet.partial import Cell, Partial, merge
from agent.intel.store import Store
from agent.journal import JournalFlow
from agent.policy.judge import Judge
from agent.policy.load import load_policy
from tests.fleet.fleet_world import POLICY, flows

WORDS = st.sampled_from(["", "a", "b"])
KEYS = st.tuples(*[WORDS] * len(partial.KEY))
CELLS = st.builds(lambda f, b, t, d: Cell(f, b, t, t + d), st.integers(1, 10**6),
                  st.integers(0, 10**12), st.integers(0, 2**62),
                  st.integers(0, 10**12))  # fmt: skip
TABLES = st.dictionaries(KEYS, CELLS, max_size=8)


@given(TABLES, TABLES, TABLES)
def test_merge_is_associative_and_commutative(a: Partial, b: Partial, c: Partial) -> None:
    assert merge(merge(a, b), c) == merge(a, merge(b, c))
    assert merge(a, b) == merge(b, a)
    assert merge(a, {}) == a == merge({}, a)


@given(TABLES)
def test_the_arrow_form_round_trips(a: Partial) -> None:
    assert list(partial.from_arrow([partial.to_arrow(a)])) == [a]


def _judge(home: Path) -> Judge:
    store = Store(home)
    return Judge(load_policy(str(POLICY)), store.table(store.current()))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 24), max_size=4))
def test_the_map_gives_the_same_partials_however_the_rows_are_split(
    fleet_home: Path, cuts: list[int]
) -> None:
    judge = _judge(fleet_home)
    rows = [JournalFlow(f.serial, f, {}) for f in flows(1)]
    table = to_table("web-2", rows)
    table = table.append_column("date", pa.array(["2026-03-02"] * len(rows)))
    table = table.append_column("host", pa.array(["web-2"] * len(rows)))
    whole = partial.map_batch(judge, table)
    edges = [0, *sorted(cuts), len(rows)]
    pieces = [partial.map_batch(judge, table.slice(a, max(b - a, 0)))
              for a, b in zip(edges, edges[1:], strict=False)]  # fmt: skip
    assert partial.merge_all(pieces) == whole
    assert sum(c.flows for c in whole.values()) == 24
