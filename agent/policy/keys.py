"""What the policy reads of a flow, as small integer codes: flows whose codes are equal get the
same decision, so a batch is judged once per distinct code and the decision broadcast.

The codes are exact, never an approximation; each stands for everything one input can make the
policy say, and no more:
- a port, by the interval it falls in between the ends of every port range any rule names
  (two ports in one interval are inside exactly the same ranges);
- an address, by which of the rules' networks (and the local networks) hold it;
- a remote address, by that and by what the policy reads of its answer: its special class,
  its label but the city (and the services, unless a rule asks of them), the sources that
  decided (`RangeTable.readings`, `Reads.labels`); by its range too where a note can quote it
  (`Judge.quotes`);
- names, processes and interfaces by value, the last two only when some rule asks about them;
- the day of the first packet only when the policy has dated exceptions.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from agent.intel.cidr import Cidr
from agent.intel.lookup import to_words, unmapped
from agent.intel.records import I64
from agent.intel.table import RangeTable
from agent.model import Process
from agent.policy.model import Match, Policy
from agent.policy.orient import local_networks

DAY_NS = 86_400 * 1_000_000_000
NEAR_MIDNIGHT_NS = 1_000_000
"""First packets this close to a UTC midnight get their day from `day_of` itself: it divides
in floating point, as the per-flow judge always has."""


def day_of(first_ns: int) -> date:
    """The UTC day a dated exception compares with: the flow's first packet's."""
    return datetime.fromtimestamp(first_ns / 1e9, UTC).date()


def factorize(values: Sequence[Hashable]) -> tuple[I64, list[Any]]:
    """Codes 0, 1, ... in order of first appearance, and the distinct values in that order."""
    index = {v: i for i, v in enumerate(dict.fromkeys(values))}
    codes = np.fromiter(map(index.__getitem__, values), np.int64, len(values))
    return codes, list(index)


def days(first_ns: I64) -> I64:
    """Each flow's `day_of` as a day number (days since the epoch)."""
    out = first_ns // DAY_NS
    offset = first_ns % DAY_NS
    near = np.flatnonzero((offset < NEAR_MIDNIGHT_NS) | (offset > DAY_NS - NEAR_MIDNIGHT_NS))
    epoch = date(1970, 1, 1).toordinal()
    for i in near.tolist():
        out[i] = day_of(int(first_ns[i])).toordinal() - epoch
    return out


class Reads:
    """What one policy reads, and the codes of a batch's inputs under it."""

    def __init__(self, policy: Policy) -> None:
        matches = [r.match for r in policy.rules]
        ends = {e for m in matches for ranges in (m.ports, m.local_ports) if ranges
                for lo, hi in ranges for e in (lo, hi + 1)}  # fmt: skip
        self.port_ends = np.array(sorted(ends), np.int64)
        self.local = local_networks(policy)
        nets = dict.fromkeys(n for m in matches for n in (m.local, m.remote) if n is not None)
        self.nets: list[tuple[Cidr, ...]] = [self.local, *nets]
        """Every rule's networks; the first are the local networks (orientation)."""
        self.names = any(m.names is not None for m in matches)
        self.services = any(m.services is not None for m in matches)
        self.processes = any(_asks_process(m) for m in matches)
        self.interfaces = any(m.interfaces is not None for m in matches)
        self.dated = bool(policy.exceptions or policy.access.exceptions)

    def ports(self, ports: I64) -> I64:
        return np.searchsorted(self.port_ends, ports, side="right").astype(np.int64)

    def addresses(self, table: RangeTable, texts: Sequence[str], labels: I64) -> Addresses:
        """`labels`: this policy's `labels` of the table."""
        return Addresses(self, table, texts, labels)

    def labels(self, table: RangeTable) -> I64:
        """Per label of the table, and one past them for none, a code for what the policy
        reads of it: all but the city, and the services only where a rule asks of them."""
        read = [(x.provider, x.region, x.border_group, x.country, x.site,
                 x.services if self.services else ()) for x in table.labels]  # fmt: skip
        return np.append(factorize(read)[0], len(read))

    def process_codes(self, processes: Sequence[Process | None] | None, n: int) -> I64:
        if processes is None or not self.processes:
            return np.zeros(n, np.int64)
        keys = [None if p is None else (p.name, p.user, p.exe) for p in processes]
        return factorize(keys)[0]

    def interface_codes(self, interfaces: Sequence[str | None] | None, n: int) -> I64:
        if interfaces is None or not self.interfaces:
            return np.zeros(n, np.int64)
        return factorize(list(interfaces))[0]


class Addresses:
    """A batch's distinct address texts: where the rules' networks place each, its lookup
    answer's segment row, what the answer says and what the policy reads of it, and its text
    as the answer names it (`unmapped`)."""

    def __init__(self, reads: Reads, table: RangeTable, texts: Sequence[str],
                 labels: I64) -> None:  # fmt: skip
        self.texts = list(texts)
        self.unmapped = [unmapped(t) if ":" in t or "%" in t else t for t in self.texts]
        hi, lo, mapped = to_words(self.unmapped)
        inside = np.zeros((len(self.texts), len(reads.nets)), bool)
        for j, nets in enumerate(reads.nets):
            for n in nets:
                inside[:, j] |= _within(hi, lo, n)
        self.local = inside[:, 0]
        """Inside the policy's local networks."""
        self.where, self.places = _rows(inside)
        """Per address, a code for the set of networks holding it; per code, that set."""
        rows = np.column_stack([table.locate(hi, lo), mapped]) if len(hi) else np.zeros((0, 5))
        self.shape, self.rows = _rows(rows.astype(np.int64))
        """Per address, a code for its segment row and IPv4-mapped flag; per code, those."""
        readings = table.readings(self.rows.matrix.astype(np.int64).reshape(-1, 5))
        self.label = readings[:, 1][self.shape]
        """Per address, its answer's deciding label (-1: none)."""
        reading, _ = _rows(readings)
        self.reading = reading[self.shape]
        """Per address, a code for what its answer says but the address and the range
        (`RangeTable.readings`)."""
        self.alike = np.unique(reading, return_index=True)[1].astype(np.int64)
        """Per reading code, the first shape code that reads so."""
        readings[:, 1], readings[:, 3] = labels[readings[:, 1]], labels[readings[:, 3]]
        read, self.reads = _rows(readings)
        self.read = read[self.shape]
        """Per address, a code for what the policy reads of its answer (`Reads.labels`); per
        code, that."""


def _within(hi: npt.NDArray[np.uint64], lo: npt.NDArray[np.uint64], n: Cidr) -> Any:
    fh, fl, lh, ll = (np.uint64(x) for x in n[:4])
    return (((hi > fh) | ((hi == fh) & (lo >= fl)))
            & ((hi < lh) | ((hi == lh) & (lo <= ll))))  # fmt: skip


class Distinct:
    """The distinct rows of a small-integer matrix, each made a tuple only when asked for."""

    __slots__ = ("matrix",)

    def __init__(self, matrix: npt.NDArray[Any]) -> None:
        self.matrix = matrix

    def __len__(self) -> int:
        return len(self.matrix)

    def __getitem__(self, k: int) -> tuple[Any, ...]:
        return tuple(self.matrix[k].tolist())


def _rows(matrix: npt.NDArray[Any]) -> tuple[I64, Distinct]:
    """Per row of a small-integer matrix, a code for its distinct value; per code, the row."""
    if not len(matrix):
        return np.zeros(0, np.int64), Distinct(matrix)
    m = matrix.astype(np.int64)
    codes, firsts = combine(list((m - m.min(axis=0)).T))
    return codes, Distinct(matrix[firsts])


def _asks_process(m: Match) -> bool:
    return m.processes is not None or m.users is not None or m.executables is not None


def combine(columns: Sequence[I64]) -> tuple[I64, I64]:
    """One code per distinct row of the columns (non-negative integers), and each code's
    first row."""
    _, first, inverse = np.unique(mixed(columns), return_index=True, return_inverse=True)
    return inverse.astype(np.int64), first.astype(np.int64)


def mixed(columns: Sequence[I64]) -> I64:
    """Per row of the columns (non-negative integers), one integer equal only where the rows
    are: a mixed-radix number, compacted whenever it would outgrow 62 bits."""
    n = len(columns[0])
    key = np.zeros(n, np.int64)
    size = 1
    for c in columns:
        width = int(c.max()) + 1 if n else 1
        if size * width >= 1 << 62:
            key = np.unique(key, return_inverse=True)[1].astype(np.int64)
            size = int(key.max()) + 1
        key = key * width + c
        size *= width
    return key
