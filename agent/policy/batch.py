"""A batch of flows judged as columns: each distinct judging key once, the decision broadcast.

`Judge.judge_one` is the rule, flow by flow: claim (an access into a protected service?),
orient (which side is local?), decide. This module does the same for a whole `FlowBatch`: it
finds, with numpy, what each flow looks like once judged (outbound: local side first; an
access: its origin first) and the codes of everything the policy reads of it
(`agent.policy.keys`), asks `judge_one` about one flow per distinct code, and gives each other
flow with that code the same decision. Decisions are kept across batches (up to `DECIDED`), so a
long stream judges each kind of flow once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from agent.intel.records import I64
from agent.intel.table import Answer
from agent.model import COLUMN, LOCAL_NETWORKS, Flow, FlowBatch, Process
from agent.policy.access import PORTS, SYN
from agent.policy.judge import Verdict
from agent.policy.keys import Addresses, Reads, combine, days, factorize
from agent.policy.model import Rule

if TYPE_CHECKING:
    from agent.policy.judge import Judge

OUTBOUND, BY_SYN, AS_GIVEN, TURNED = range(4)
"""How a flow is judged: outbound, or an access claimed by its SYN, by the port rule as given,
or by the port rule turned round (`Claim.turned`)."""
DECIDED = 200_000
"""Decisions (and claims, and answers' shapes) kept across batches; past this they start over."""
SWAPS = (("src", "dst"), ("sport", "dport"), ("packets_fwd", "packets_rev"),
         ("bytes_fwd", "bytes_rev"), ("frame_bytes_fwd", "frame_bytes_rev"),
         ("tcp_flags_fwd", "tcp_flags_rev"))  # fmt: skip
"""The columns that trade places when a flow is seen from its other side (`orient.turned`)."""


class Decision(NamedTuple):
    """What a verdict says, without the flow, its answer and its process."""

    scope: str
    verdict: str | None
    rule: Rule | None
    weak: bool
    note: str
    contradictions: tuple[str, ...]
    service: Rule | None

    @classmethod
    def of(cls, v: Verdict) -> Decision:
        return cls(v.scope, v.verdict, v.rule, v.weak, v.note, v.contradictions, v.service)


@dataclass(frozen=True, slots=True)
class Verdicts:
    """A batch's verdicts as columns, in the batch's order."""

    flows: FlowBatch
    """Each flow as judged: outbound flows local side first, accesses origin first."""
    decision: I64
    """Per flow, its decision in `decisions`."""
    decisions: list[Decision]
    remote: I64
    """Per flow, its remote address (the destination, or an access's origin) in `addresses`."""
    addresses: Addresses
    shape: Callable[[tuple[int, ...]], Answer]
    """The answer with no address text for an `addresses.rows` row (`Judge.shape`)."""
    processes: Sequence[Process | None] | None = None
    known: dict[str, Answer] = field(default_factory=dict)
    """Answers made so far, by address text (the judge's, so flows share them)."""

    def __len__(self) -> int:
        return len(self.decision)

    def __iter__(self) -> Iterator[Verdict]:
        return self.records()

    def answer(self, k: int) -> Answer:
        """The lookup answer for address `k`."""
        text = self.addresses.texts[k]
        found = self.known.get(text)
        if found is None:
            shape = self.shape(self.addresses.rows[self.addresses.shape[k]])
            found = self.known[text] = replace(shape, address=self.addresses.unmapped[k])
        return found

    def alike(self, reading: int) -> Answer:
        """For an `addresses.reading` code, the answer (with no address text) of one range
        that reads so: every field but the range is every such range's."""
        return self.shape(self.addresses.rows[int(self.addresses.alike[reading])])

    def take(self, which: Any) -> Verdicts:
        """The verdicts an index array or boolean mask selects."""
        idx = np.arange(len(self))[which]
        procs = None if self.processes is None else [self.processes[i] for i in idx.tolist()]
        return Verdicts(self.flows.take(idx), self.decision[idx], self.decisions,
                        self.remote[idx], self.addresses, self.shape, procs,
                        self.known)  # fmt: skip

    def records(self) -> Iterator[Verdict]:
        """One `Verdict` each, for consumers that want objects."""
        procs = self.processes or [None] * len(self)
        rows = zip(self.flows.records(), self.decision.tolist(), self.remote.tolist(), procs,
                   strict=True)  # fmt: skip
        for flow, d, k, proc in rows:
            s = self.decisions[d]
            yield Verdict(flow, s.scope, s.verdict, s.rule, self.answer(k), s.weak, s.note,
                          s.contradictions, proc, s.service)  # fmt: skip


def judged(
    judge: Judge, batch: FlowBatch, interfaces: Sequence[str | None] | None,
    processes: Sequence[Process | None] | None,
) -> Verdicts:  # fmt: skip
    """The batch's verdicts, equal flow by flow to `judge.judge_one`'s."""
    n, col = len(batch), batch.columns
    reads = judge.reads
    codes, texts = factorize(np.concatenate([col[COLUMN["src"]], col[COLUMN["dst"]]]).tolist())
    src, dst = codes[:n], codes[n:]
    addrs = reads.addresses(judge.table, texts, judge.labels)
    names_code, names = factorize([(), *col[COLUMN["names"]].tolist()])
    heard_code, heard = factorize([judge.heard(x) for x in names])
    names_code = heard_code[names_code[1:]]  # code 0: no names
    ports = reads.ports(col[COLUMN["sport"]]), reads.ports(col[COLUMN["dport"]])
    who = reads.interface_codes(interfaces, n), reads.process_codes(processes, n)
    form, service = _claims(judge, batch, (src, dst), addrs, (names_code, heard), ports, who,
                            interfaces, processes)  # fmt: skip
    outbound = form == OUTBOUND
    s_local, d_local = addrs.local[src], addrs.local[dst]
    turn = (outbound & ~s_local & d_local) | (form == TURNED)
    relabel = (outbound & (s_local != d_local)) | (form == AS_GIVEN) | (form == TURNED)
    label = np.where(outbound, 0, 1)  # LOCAL_NETWORKS, else PORTS
    flows = _turned(batch, turn, relabel, label)
    j_src, j_dst = np.where(turn, dst, src), np.where(turn, src, dst)
    remote, local = np.where(outbound, j_dst, j_src), np.where(outbound, j_src, j_dst)
    j_names = np.where(turn, 0, names_code)
    seen = np.where(outbound, j_names, np.where(form == AS_GIVEN, 0, names_code))
    """What the policy reads of names (`Judge.heard`): of the flow's as judged, or for an
    access of its origin's."""
    j_sport, j_dport = np.where(turn, ports[1], ports[0]), np.where(turn, ports[0], ports[1])
    day = days(col[COLUMN["first_ns"]]) if reads.dated else np.zeros(n, np.int64)
    proto = col[COLUMN["proto"]].astype(np.int64)
    read, where = addrs.read[remote], addrs.where
    decision, reps = _in_order(combine([form, service, proto, read, where[remote], where[local],
                                        j_sport, j_dport, seen, day - day.min(initial=0),
                                        *who]))  # fmt: skip
    keys = list(zip(*_at(reps, form, service, proto), [addrs.reads[k] for k in _at(reps, read)[0]],
                    *([addrs.places[k] for k in c] for c in _at(reps, where[remote],
                                                               where[local])),
                    *_at(reps, j_sport, j_dport), [heard[k] for k in _at(reps, seen)[0]],
                    *_at(reps, day), strict=True))  # fmt: skip
    if reads.interfaces or reads.processes:
        keys = [(*k, *_asked(reads, interfaces, processes, r))
                for k, r in zip(keys, reps.tolist(), strict=True)]  # fmt: skip
    made = _Made(judge, batch, remote, texts, interfaces, processes)
    decisions = made.decide(keys, reps)
    noted = np.array([bool(d.note) for d in decisions], bool)[decision]
    quoted = judge.quoting[addrs.label[remote]]
    if (noted & quoted).any():  # each range's own note
        ranged = np.where(noted & quoted, addrs.shape[remote] + 1, 0)
        split, reps = _in_order(combine([decision, ranged]))
        pairs = list(zip(*_at(reps, decision, ranged), strict=True))
        alone = [(*keys[d], addrs.rows[k - 1] if k else None) for d, k in pairs]
        decisions = made.decide(alone, reps, [None if k else decisions[d] for d, k in pairs])
        decision = split
    return Verdicts(flows, decision, decisions, remote, addrs, judge.shape, processes,
                    judge.known())


class _Made:
    """Decisions for judging keys: remembered (`Judge.decisions`), else made by `judge_one`
    on the key's first flow."""

    def __init__(self, judge: Judge, batch: FlowBatch, remote: I64, texts: list[str],
                 interfaces: Sequence[str | None] | None,
                 processes: Sequence[Process | None] | None) -> None:  # fmt: skip
        self.judge, self.batch, self.remote, self.texts = judge, batch, remote, texts
        self.interfaces, self.processes = interfaces, processes

    def decide(self, keys: list[Any], reps: I64, known: list[Decision | None] | None = None
               ) -> list[Decision]:  # fmt: skip
        """The decision for each key, `reps` its first flow; `known`: those made already."""
        memo, rows = self.judge.decisions(), reps.tolist()
        known = known or [None] * len(keys)
        new = [r for k, r, d in zip(keys, rows, known, strict=True) if d is None and k not in memo]
        self.judge.answers(self.texts[i] for i in self.remote[new].tolist())  # one probe
        made = dict(zip(new, self.batch.take(np.array(new, np.int64)).records(), strict=True))
        out = []
        for key, r, d in zip(keys, rows, known, strict=True):
            if d is None:
                d = memo.get(key)
                if d is None:
                    d = memo[key] = _one(self.judge, made[r], r, self.interfaces,
                                         self.processes)
            out.append(d)
        return out


def _in_order(grouped: tuple[I64, I64]) -> tuple[I64, I64]:
    """`combine`'s codes renumbered in order of their first row, and those first rows."""
    group, firsts = grouped
    order = np.argsort(firsts, kind="stable")
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    return rank[group], firsts[order]


def _one(judge: Judge, flow: Flow, r: int, interfaces: Sequence[str | None] | None,
         processes: Sequence[Process | None] | None) -> Decision:  # fmt: skip
    iface = interfaces[r] if interfaces is not None else None
    proc = processes[r] if processes is not None else None
    return Decision.of(judge.judge_one(flow, iface, proc))


def _at(rows: I64, *columns: I64) -> list[list[Any]]:
    """The columns' values at rows, as Python values."""
    return [c[rows].tolist() for c in columns]


def flow_at(batch: FlowBatch, r: int) -> Flow:
    return Flow._make(c[r : r + 1].tolist()[0] for c in batch.columns)


def _asked(reads: Reads, interfaces: Sequence[str | None] | None,
           processes: Sequence[Process | None] | None, r: int) -> tuple[Any, Any]:  # fmt: skip
    """Flow r's interface and process (name, user, executable), where a rule asks of them."""
    iface = interfaces[r] if reads.interfaces and interfaces is not None else None
    p = processes[r] if reads.processes and processes is not None else None
    return iface, None if p is None else (p.name, p.user, p.exe)


def _claims(
    judge: Judge, batch: FlowBatch, sides: tuple[I64, I64], addrs: Addresses,
    names: tuple[I64, list[Any]],
    ports: tuple[I64, I64], who: tuple[I64, I64], interfaces: Sequence[str | None] | None,
    processes: Sequence[Process | None] | None,
) -> tuple[I64, I64]:  # fmt: skip
    """Per flow, how it is judged (OUTBOUND or the form of its access claim) and its protect
    rule (1 + its index; 0 for none)."""
    n = len(batch)
    protect = judge.policy.access.protect
    if not protect:
        return np.zeros(n, np.int64), np.zeros(n, np.int64)
    reads, col = judge.reads, batch.columns
    syn = (col[COLUMN["direction"]] == SYN).astype(np.int64)
    proto = col[COLUMN["proto"]].astype(np.int64)
    seen = names[0] if reads.names else np.zeros(n, np.int64)
    src, dst = sides
    group, firsts = combine([syn, proto, addrs.where[src], addrs.where[dst], *ports, seen, *who])
    results = np.zeros((len(firsts), 2), np.int64)
    for g, r in enumerate(firsts.tolist()):
        key = (int(syn[r]), int(proto[r]), addrs.places[addrs.where[src[r]]],
               addrs.places[addrs.where[dst[r]]], int(ports[0][r]), int(ports[1][r]),
               names[1][seen[r]] if reads.names else (),
               *_asked(reads, interfaces, processes, r))  # fmt: skip
        results[g] = judge.claimed(key, partial(_claim, judge, batch, r, interfaces, processes))
    return results[group, 0], results[group, 1]


def _claim(judge: Judge, batch: FlowBatch, r: int, interfaces: Sequence[str | None] | None,
           processes: Sequence[Process | None] | None) -> tuple[int, int]:  # fmt: skip
    iface = interfaces[r] if interfaces is not None else None
    proc = processes[r] if processes is not None else None
    c = judge.access.claim(flow_at(batch, r), iface, proc)
    if c is None:
        return OUTBOUND, 0
    form = BY_SYN if c.flow.direction == SYN else TURNED if c.turned else AS_GIVEN
    rule = next(i for i, p in enumerate(judge.policy.access.protect) if p is c.service)
    return form, rule + 1


def _turned(batch: FlowBatch, turn: Any, relabel: Any, label: I64) -> FlowBatch:
    """The batch with the flows `turn` selects seen from their other side (names dropped, as
    `orient.turned` does) and the direction of those `relabel` selects set to LOCAL_NETWORKS
    (label 0) or PORTS (label 1)."""
    if not relabel.any():
        return batch
    cols = list(batch.columns)
    if turn.any():
        for a, b in SWAPS:
            x, y = cols[COLUMN[a]], cols[COLUMN[b]]
            cols[COLUMN[a]], cols[COLUMN[b]] = np.where(turn, y, x), np.where(turn, x, y)
        empty = np.empty(len(batch), object)
        empty.fill(())
        cols[COLUMN["names"]] = np.where(turn, empty, cols[COLUMN["names"]])
    labels = np.array([LOCAL_NETWORKS, PORTS], object)[label]
    cols[COLUMN["direction"]] = np.where(relabel, labels, cols[COLUMN["direction"]])
    return FlowBatch(tuple(cols))
