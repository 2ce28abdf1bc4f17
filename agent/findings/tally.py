"""Verdicts -> the numbers a regulator asks for: totals by verdict, destinations behind each
violation, exceptions and exclusions used, breakdowns by place and over time.

Pure and order-free: the same verdicts in any order give the same tally, so two runs over the
same inputs agree to the byte.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from agent.findings.access import AccessTally
from agent.findings.groups import Groups, distinct
from agent.findings.timeline import WIDTHS, Timeline
from agent.intel.records import I64
from agent.intel.table import Answer
from agent.model import COLUMN, DIRECTIONS, INFERRED, Flow
from agent.policy.access import ACCESS, label
from agent.policy.batch import Verdicts
from agent.policy.judge import APPROVED, EXCLUDED, OUT, UNVERIFIED, VERDICTS, VIOLATION, Verdict
from agent.policy.keys import factorize
from agent.policy.model import Rule

FIRST, LAST = COLUMN["first_ns"], COLUMN["last_ns"]
EVIDENCE_FLOWS = 50
"""Flow serials kept per destination and capture as pointers into the evidence."""


@dataclass(slots=True)
class Count:
    flows: int = 0
    bytes: int = 0
    first_ns: int = 0
    last_ns: int = 0
    """The counted flows' earliest first and latest last packet (0 while nothing is counted)."""

    def add(self, flow: Flow) -> None:
        if not self.flows:
            self.first_ns, self.last_ns = flow.first_ns, flow.last_ns
        self.first_ns = min(self.first_ns, flow.first_ns)
        self.last_ns = max(self.last_ns, flow.last_ns)
        self.flows += 1
        self.bytes += flow.bytes_fwd + flow.bytes_rev

    def merge(self, other: Count) -> None:
        """Count what another count counted, as if its flows were added one by one."""
        if not other.flows:
            return
        if not self.flows:
            self.first_ns, self.last_ns = other.first_ns, other.last_ns
        self.first_ns = min(self.first_ns, other.first_ns)
        self.last_ns = max(self.last_ns, other.last_ns)
        self.flows += other.flows
        self.bytes += other.bytes

    def as_dict(self) -> dict[str, int]:
        return {"flows": self.flows, "bytes": self.bytes}


class Totals(dict[str, Count]):
    """Flows and bytes by verdict label (`access.label`): the one count of verdicts, kept by
    the tally and read by the daemon's metrics. Bounded: one entry per label; a label not
    counted reads as an empty count."""

    def __missing__(self, kind: str) -> Count:
        count = self[kind] = Count()
        return count

    def add(self, verdicts: Sequence[Verdict], where: str = "") -> None:
        for v in verdicts:
            self[label(v)].add(v.flow)

    @property
    def flows(self) -> int:
        return sum(c.flows for c in self.values())


@dataclass(slots=True)
class Destination:
    """Everything seen going to one remote address under one verdict."""

    answer: Answer
    count: Count = field(default_factory=Count)
    first_ns: int = 0
    last_ns: int = 0
    names: set[tuple[str, str]] = field(default_factory=set)
    ports: set[tuple[int, int]] = field(default_factory=set)
    """(protocol, remote port)."""
    notes: set[str] = field(default_factory=set)
    rules: set[str] = field(default_factory=set)
    processes: set[str] = field(default_factory=set)
    weak: bool = False
    evidence: dict[str, list[int]] = field(default_factory=dict)
    """Capture (or journal) -> serials of the first flows, as pointers to look them up."""

    def add(self, v: Verdict, where: str) -> None:
        f = v.flow
        if not self.count.flows:
            self.first_ns, self.last_ns = f.first_ns, f.last_ns
        self.first_ns, self.last_ns = min(self.first_ns, f.first_ns), max(self.last_ns, f.last_ns)
        self.count.add(f)
        self.names.update(f.names)
        self.ports.add((f.proto, f.dport))
        self.notes.update(filter(None, (v.note, *v.contradictions)))
        if v.rule:
            self.rules.add(v.rule.name)
        if v.process:
            self.processes.add(f"{v.process.name} (pid {v.process.pid}, {v.process.user})")
        self.weak |= v.weak
        serials = self.evidence.setdefault(where, [])
        if len(serials) < EVIDENCE_FLOWS:
            serials.append(f.serial)


@dataclass(slots=True)
class RuleUse:
    rule: Rule
    count: Count = field(default_factory=Count)
    weak: Count = field(default_factory=Count)


@dataclass(slots=True)
class Tally:
    totals: Totals = field(default_factory=Totals)
    """By verdict label: the verdicts, OUT ("out of scope"), EXCLUDED and the access labels."""
    destinations: dict[tuple[str, str], Destination] = field(default_factory=dict)
    """(verdict, address) for violations and unverified destinations."""
    rules: dict[tuple[str, str], RuleUse] = field(default_factory=dict)
    """Exclusions, approvals and exceptions used, by (rule name, verdict or scope): an expired
    exception shows under "violation", a live one under "exempt"."""
    places: dict[tuple[str, ...], Count] = field(default_factory=lambda: defaultdict(Count))
    """In scope, by (verdict, provider, region, border group, country, site, city): a place is
    where the traffic ends, so a region whose zones lie in two countries gives two keys."""
    approved_weak: Count = field(default_factory=Count)
    """Approved on weak evidence only (a rule on names or countries)."""
    timeline: Timeline = field(default_factory=Timeline)
    """In scope, by bin and verdict, counted at each flow's first packet."""
    directions: dict[str, Count] = field(default_factory=lambda: defaultdict(Count))
    """In scope, by how the local side was decided (`Flow.direction`)."""
    contradictions: set[str] = field(default_factory=set)
    unattributed: Count = field(default_factory=Count)
    """In scope, with no process known (live mode: polling missed the connection)."""
    access: AccessTally = field(default_factory=AccessTally)
    """Flows into protected services (scope `access`), counted apart."""
    first_ns: int | None = None
    last_ns: int | None = None
    destined: bool = True
    """Keep `destinations` (each with its evidence); the fleet's map, which counts places
    only, does without."""

    def add(self, verdicts: Sequence[Verdict], where: str) -> None:
        """Count verdicts; `where` names their capture (or journal) for evidence pointers."""
        self.totals.add(verdicts)
        for v in verdicts:
            self._add(v, where)

    def add_batch(self, v: Verdicts, where: str) -> None:
        """Count a batch of verdicts (`Judge.judge_batch`) by groups, as `add` counts them."""
        if not len(v):
            return
        col = v.flows.columns
        first, last = int(col[FIRST].min()), int(col[LAST].max())
        self.first_ns = first if self.first_ns is None else min(self.first_ns, first)
        self.last_ns = last if self.last_ns is None else max(self.last_ns, last)
        access = np.array([d.scope == ACCESS for d in v.decisions])[v.decision]
        if access.any():
            accesses = list(v.take(access).records())
            self.totals.add(accesses)
            for x in accesses:
                self.access.add(x, where)
            v = v.take(~access)
        if len(v):
            _Batch(self, v, where).count()

    def _add(self, v: Verdict, where: str) -> None:
        f, a = v.flow, v.answer
        self.first_ns = f.first_ns if self.first_ns is None else min(self.first_ns, f.first_ns)
        self.last_ns = f.last_ns if self.last_ns is None else max(self.last_ns, f.last_ns)
        if v.scope == ACCESS:
            self.access.add(v, where)
            return
        kind = v.verdict or v.scope
        if v.rule is not None:
            use = self.rules.setdefault((v.rule.name, kind), RuleUse(v.rule))
            use.count.add(f)
            if v.weak:
                use.weak.add(f)
        if v.scope == OUT or v.scope == EXCLUDED:
            return
        self.places[(kind, *_place(a))].add(f)
        if kind == APPROVED and v.weak:
            self.approved_weak.add(f)
        self.timeline.add(f.first_ns, kind, 1, f.bytes_fwd + f.bytes_rev)
        self.directions[f.direction].add(f)
        if v.process is None:
            self.unattributed.add(f)
        self.contradictions.update(v.contradictions)
        if kind in (VIOLATION, UNVERIFIED) and self.destined:
            key = (kind, a.address)
            dest = self.destinations.get(key) or self.destinations.setdefault(key, Destination(a))
            dest.add(v, where)

    @property
    def in_scope(self) -> Count:
        c = Count()
        for kind in VERDICTS:
            c.flows += self.totals[kind].flows
            c.bytes += self.totals[kind].bytes
        return c

    @property
    def inferred(self) -> Count:
        """In scope, with a local side that rests on the ports or the first packet only."""
        c = Count()
        for how in INFERRED:
            c.flows += self.directions[how].flows
            c.bytes += self.directions[how].bytes
        return c

    @property
    def read(self) -> Count:
        """Every flow judged: in scope, excluded and out of scope."""
        c = self.in_scope
        for kind in (EXCLUDED, OUT):
            c.flows += self.totals[kind].flows
            c.bytes += self.totals[kind].bytes
        return c

    def compliant(self, allow_unverified: bool = False) -> bool:
        """True when something was in scope (outbound flows or accesses) and none of it is a
        violation or an access violation (or unverified, unless allowed): no traffic in scope
        proves nothing."""
        if not self.in_scope.flows and not self.access.sessions.sessions:
            return False
        bad = self.totals[VIOLATION].flows + self.access.bad(allow_unverified)
        if not allow_unverified:
            bad += self.totals[UNVERIFIED].flows
        return bad == 0

    def used(self, kind: str) -> list[RuleUse]:
        """The rules that decided flows of one verdict or scope, by name."""
        return [u for (name, k), u in sorted(self.rules.items()) if k == kind]


class _Batch:
    """One batch of outbound verdicts counted into a tally: its rows grouped once into cells
    (decision; in scope also place, timeline bin, direction, whether a process is known), each
    count then a sum over cells."""

    def __init__(self, tally: Tally, v: Verdicts, where: str) -> None:
        self.t, self.v, self.where = tally, v, where
        col = v.flows.columns
        self.first, self.last = col[FIRST], col[LAST]
        self.size = col[COLUMN["bytes_fwd"]] + col[COLUMN["bytes_rev"]]
        codes, self.kinds = factorize([d.verdict or d.scope for d in v.decisions])
        self.kind = codes[v.decision]

    def counts(self, g: Groups, rows: I64 | None = None) -> Iterator[tuple[int, Count]]:
        """Each group's first row (in the batch) and its count; `rows`: the rows grouped."""
        size, first, last = self.size, self.first, self.last
        firsts = g.rows
        if rows is not None:
            size, first, last, firsts = size[rows], first[rows], last[rows], rows[g.rows]
        counts = map(Count, g.sizes().tolist(), g.sum(size).tolist(), g.min(first).tolist(),
                     g.max(last).tolist())  # fmt: skip
        yield from zip(firsts.tolist(), counts, strict=True)

    def count(self) -> None:
        t, v, kinds = self.t, self.v, self.kinds
        scoped = np.array([d.scope not in (OUT, EXCLUDED) for d in v.decisions])[v.decision]
        rows = np.flatnonzero(scoped)
        cells = _Cells(self, [v.decision, *self.in_scope(rows)])
        for row, c in cells.merged([self.kind[cells.rep]]):
            t.totals[kinds[self.kind[row]]].merge(c)
        for row, c in cells.merged([v.decision[cells.rep]]):
            d = v.decisions[v.decision[row]]
            if d.rule is not None:
                use = t.rules.setdefault((d.rule.name, kinds[self.kind[row]]), RuleUse(d.rule))
                use.count.merge(c)
                if d.weak:
                    use.weak.merge(c)
        if len(rows):
            self.count_in_scope(cells, scoped)

    def in_scope(self, rows: I64) -> list[I64]:
        """The cells' columns of the rows in scope (0 for the others): place, timeline bin,
        direction, and whether no process is known."""
        t, v, n = self.t, self.v, len(self.v)
        out = [np.zeros(n, np.int64) for _ in range(4)]
        if not len(rows):
            return out
        reading = v.addresses.reading[v.remote[rows]]
        used = np.zeros(len(v.addresses.alike), bool)
        used[reading] = True
        seen = np.flatnonzero(used)
        codes, self.places = factorize([_place(v.alike(r)) for r in seen.tolist()])
        place = np.zeros(len(used), np.int64)
        place[seen] = codes
        t.timeline.fit(self.first[rows])  # then at most MAX_BINS bins below a day
        w, sec = WIDTHS[t.timeline.level], self.first[rows] // 1_000_000_000
        start = sec - (sec - w.offset) % w.seconds
        direction = v.flows.columns[COLUMN["direction"]][rows]
        how = np.full(len(rows), -1, np.int64)
        for i, name in enumerate(DIRECTIONS):
            how[direction == name] = i
        if (how < 0).any():  # a direction of no name known here: by its own
            how = factorize(direction.tolist())[0] + len(DIRECTIONS)
        procs = v.processes
        alone = np.ones(len(rows), bool) if procs is None else np.array(
            [procs[i] is None for i in rows.tolist()], bool)  # fmt: skip
        for column, values in zip(out, (place[reading], (start - start.min()) // w.seconds, how,
                                        alone), strict=True):  # fmt: skip
            column[rows] = values
        return out

    def count_in_scope(self, cells: _Cells, scoped: npt.NDArray[np.bool_]) -> None:
        t, v, kinds = self.t, self.v, self.kinds
        col = v.flows.columns
        place, bins, how, alone = (c[cells.rep] for c in cells.columns[1:])
        inside, kind = scoped[cells.rep], self.kind[cells.rep]
        for row, c in cells.merged([kind, place], inside):
            t.places[(kinds[self.kind[row]], *self.places[place[cells.at(row)]])].merge(c)
        if APPROVED in kinds:
            weak = np.array([d.weak for d in v.decisions])[v.decision[cells.rep]]
            for _, c in cells.merged([], inside & weak & (kind == kinds.index(APPROVED))):
                t.approved_weak.merge(c)
        for row, c in cells.merged([bins, kind], inside):
            t.timeline.add(int(self.first[row]), kinds[self.kind[row]], c.flows, c.bytes)
        for row, c in cells.merged([how], inside):
            t.directions[col[COLUMN["direction"]][row]].merge(c)
        for _, c in cells.merged([], inside & (alone == 1)):
            t.unattributed.merge(c)
        for d in np.unique(v.decision[cells.rep[inside]]).tolist():
            t.contradictions.update(v.decisions[d].contradictions)
        bad = [kinds.index(k) for k in (VIOLATION, UNVERIFIED) if k in kinds]
        dest = np.flatnonzero(scoped & np.isin(self.kind, bad))
        if len(dest) and t.destined:
            self.destinations(dest)

    def destinations(self, rows: I64) -> None:
        t, v, col = self.t, self.v, self.v.flows.columns
        texts, unique = factorize(v.addresses.unmapped)
        address = texts[v.remote[rows]]
        g = Groups([self.kind[rows], address])
        gid = g.codes
        found = []
        for row, c in self.counts(g, rows):
            key = (self.kinds[self.kind[row]], unique[texts[v.remote[row]]])
            d = t.destinations.get(key)
            if d is None:
                d = t.destinations[key] = Destination(v.answer(int(v.remote[row])))
            if not d.count.flows:
                d.first_ns, d.last_ns = c.first_ns, c.last_ns
            d.first_ns, d.last_ns = min(d.first_ns, c.first_ns), max(d.last_ns, c.last_ns)
            d.count.merge(c)
            found.append(d)
        names, values = factorize(col[COLUMN["names"]][rows].tolist())
        for i, n in distinct(gid, names):
            found[i].names.update(values[n])
        port = col[COLUMN["proto"]][rows] * 65_536 + col[COLUMN["dport"]][rows]
        for i, p in distinct(gid, port):
            found[i].ports.add((p // 65_536, p % 65_536))
        for i, k in distinct(gid, v.decision[rows]):
            s = v.decisions[k]
            found[i].notes.update(filter(None, (s.note, *s.contradictions)))
            if s.rule:
                found[i].rules.add(s.rule.name)
            found[i].weak |= s.weak
        if v.processes is not None:
            for i, r in zip(gid.tolist(), rows.tolist(), strict=True):
                p = v.processes[r]
                if p:
                    found[i].processes.add(f"{p.name} (pid {p.pid}, {p.user})")
        lists = [d.evidence.setdefault(self.where, []) for d in found]
        room = np.array([EVIDENCE_FLOWS - len(x) for x in lists], np.int64)
        group = g.codes[g.order]  # ascending: the rows group by group, each in batch order
        kept = np.arange(len(group)) - g.starts[group] < room[group]
        serials = col[COLUMN["serial"]][rows][g.order[kept]].tolist()
        ends = np.searchsorted(group[kept], np.arange(len(found) + 1)).tolist()
        for x, a, b in zip(lists, ends, ends[1:], strict=False):
            x.extend(serials[a:b])


class _Cells:
    """A batch's rows grouped by equal columns, with each cell's count as arrays."""

    def __init__(self, b: _Batch, columns: list[I64]) -> None:
        g = Groups(columns)
        self.columns = columns
        self.rep = g.rows
        """Each cell's first row."""
        self.flows, self.bytes = g.sizes(), g.sum(b.size)
        self.first, self.last = g.min(b.first), g.max(b.last)
        self._cell = {r: i for i, r in enumerate(self.rep.tolist())}

    def at(self, row: int) -> int:
        """The cell a cell's first row begins."""
        return self._cell[row]

    def merged(self, columns: list[I64], which: npt.NDArray[np.bool_] | None = None
               ) -> Iterator[tuple[int, Count]]:  # fmt: skip
        """The cells (those `which` selects) grouped by equal columns (per cell): each group's
        first row in the batch and its count."""
        idx = np.arange(len(self.rep)) if which is None else np.flatnonzero(which)
        if not len(idx):
            return
        g = Groups([c[idx] for c in columns] or [np.zeros(len(idx), np.int64)])
        counts = map(Count, g.sum(self.flows[idx]).tolist(), g.sum(self.bytes[idx]).tolist(),
                     g.min(self.first[idx]).tolist(), g.max(self.last[idx]).tolist())  # fmt: skip
        yield from zip(self.rep[idx][g.rows].tolist(), counts, strict=True)


def _place(a: Answer) -> tuple[str, ...]:
    """A `Tally.places` key's place: where the traffic ended."""
    return (a.provider or "", a.region or "", a.border_group or "", a.country or "",
            a.site or "", a.city or "")  # fmt: skip
