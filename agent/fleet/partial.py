"""The fleet report's map and merge: sealed flows -> partial tables -> one partial table.

`map_batch` judges a batch of sealed rows through the one chain (`agent.chain.judging.Chain`)
into the one `Tally` that `analyze` uses, then keeps the tally's places (and the out-of-scope
and excluded totals) as rows keyed by (date, host, verdict, provider, region, border group,
country, site, city) with flows, bytes, first and last; the approved flows that rest on weak
evidence only as one row per host-day under `approved_weak` (the analysis document's key) with
empty places; accesses into protected services under their `access-` labels (`access.LABELS`),
by origin, with sessions as flows and bytes out as bytes. `merge` adds two partial tables: sums
and min/max, so it is associative and commutative with the empty table as identity, and the
engines may split and combine the work in any order and give the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from agent.chain.judging import Chain, Flows
from agent.findings.tally import Tally
from agent.fleet.columns import batch_of
from agent.policy.access import LABELS
from agent.policy.judge import EXCLUDED, OUT, Judge

WEAK = "approved_weak"
"""The partial rows of approvals on weak evidence only (a name or country rule): a subset of
the `approved` rows, so they are kept out of the breakdown's sums."""
KEY = ("date", "host", "verdict", "provider", "region", "border_group", "country", "site",
       "city")


class Cell(NamedTuple):
    flows: int
    bytes: int
    first_ns: int
    last_ns: int

    def plus(self, other: Cell) -> Cell:
        first, last = min(self.first_ns, other.first_ns), max(self.last_ns, other.last_ns)
        return Cell(self.flows + other.flows, self.bytes + other.bytes, first, last)


Partial = dict[tuple[str, ...], Cell]
SCHEMA = pa.schema([(k, pa.string()) for k in KEY]
                   + [(k, pa.int64()) for k in Cell._fields])  # fmt: skip


def lake_unit(host: str, batches: Iterable[pa.RecordBatch | pa.Table]) -> Iterator[Flows]:
    """A source: one host-day's sealed rows as the flows (and processes) the journal held."""
    for batch in batches:
        flows, owners = batch_of(batch)
        yield Flows(flows, host, owners)


def map_unit(judge: Judge, date: str, host: str, batches: Iterable[pa.RecordBatch]) -> Partial:
    """One host-day's rows judged and counted."""
    tally = Tally(destined=False)
    Chain(judge, tally).run(lake_unit(host, batches))
    out: Partial = {}
    for (kind, *place), c in tally.places.items():
        out[(date, host, kind, *place)] = Cell(c.flows, c.bytes, c.first_ns, c.last_ns)
    for (kind, country, provider, region, site), s in tally.access.places.items():
        key = (date, host, LABELS[kind], provider, region, "", country, site, "")
        out[key] = Cell(s.sessions, s.bytes_out, s.first_ns, s.last_ns)  # flows are sessions
    for kind, t in ((EXCLUDED, tally.totals.get(EXCLUDED)), (OUT, tally.totals.get(OUT)),
                    (WEAK, tally.approved_weak)):  # fmt: skip
        if t is not None and t.flows:
            out[(date, host, kind, "", "", "", "", "", "")] = Cell(t.flows, t.bytes, t.first_ns,
                                                                  t.last_ns)  # fmt: skip
    return out


def map_batch(judge: Judge, batch: pa.RecordBatch | pa.Table) -> Partial:
    """Rows of any host-days (their `date` and `host` columns from the lake's layout)."""
    out: Partial = {}
    units = pc.unique(pc.binary_join_element_wise(batch["date"], batch["host"], "/"))
    for unit in sorted(units.to_pylist()):
        date, host = unit.split("/", 1)
        mask = pc.and_(pc.equal(batch["date"], date), pc.equal(batch["host"], host))
        part = batch.filter(mask)
        rows = part.to_batches() if isinstance(part, pa.Table) else [part]
        out = merge(out, map_unit(judge, date, host, rows))
    return out


def merge(a: Partial, b: Partial) -> Partial:
    """The sum of two partial tables (neither is changed)."""
    if len(a) < len(b):
        a, b = b, a
    out = dict(a)
    for key, cell in b.items():
        have = out.get(key)
        out[key] = cell if have is None else have.plus(cell)
    return out


def merge_all(parts: Iterable[Partial]) -> Partial:
    out: Partial = {}
    for p in parts:
        out = merge(out, p)
    return out


def to_arrow(p: Partial) -> pa.RecordBatch:
    keys = sorted(p)
    data: dict[str, list[object]] = {k: [key[i] for key in keys] for i, k in enumerate(KEY)}
    data |= {k: [p[key][i] for key in keys] for i, k in enumerate(Cell._fields)}
    return pa.RecordBatch.from_pydict(data, schema=SCHEMA)


def from_arrow(batches: Iterable[pa.RecordBatch | pa.Table]) -> Iterator[Partial]:
    """Partial tables back from their Arrow form (a key repeated within one is added up)."""
    for b in batches:
        d = b.to_pydict()
        keys = zip(*(d[k] for k in KEY), strict=True)
        cells = zip(*(d[k] for k in Cell._fields), strict=True)
        out: Partial = {}
        for k, c in zip(keys, cells, strict=True):
            key, cell = tuple(k), Cell(*c)
            have = out.get(key)
            out[key] = cell if have is None else have.plus(cell)
        yield out
