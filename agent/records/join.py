"""Flow records -> flows: the two directions of a connection joined, the same connection seen
from two vantage points counted once.

Cloud flow logs (AWS, OCI, GCP) and NetFlow v5/v9 write one record per direction per window
per interface. At one vantage point, records of one conversation (the same Community ID, so
either direction, and the same action) whose windows overlap or lie within `SLACK_NS` of each
other are one flow, later windows adding to it (the Community ID's own tuple is compared: the
protocol and the two endpoints in order); its initiator (`src`) is found as for packets
without the policy (`initiator_first`: a SYN without ACK, else the ports, else the first
record). Zeek's records are whole conversations already and are never
joined with each other. A connection logged at both ends (two interfaces, two VMs, a router's
ingress and egress) appears as one flow per vantage point with the same Community ID and
overlapping windows: the vantage point read first speaks for it, and the others' records are
counted in `merged_duplicates`, never added. Which side is local is decided later: the judge
turns flows round by the policy's networks, as for packets.

All of it is done on columns (`agent.records.batch`): records sorted by conversation and time,
windows cut where a gap wider than `SLACK_NS` opens, counts added per flow with `reduceat`;
only the flows of a connection logged at more than one vantage point are compared one by one.

A rejected record is traffic that was tried and refused: it stays apart from accepted traffic
of the same tuple and its flow's `end` is `rejected` (else `record`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from agent.flows.columns import EPHEMERAL
from agent.model import Flow, FlowBatch
from agent.records.batch import REJECT, FlowRecordBatch, concat
from agent.records.model import Counts, CoverageGap, FlowRecord, Item, Where

SLACK_NS = 60 * 1_000_000_000
"""How far apart two windows of one conversation may be: AWS's shortest aggregation interval."""
WHOLE = frozenset({"zeek-conn"})
"""Sources whose every record is a whole conversation."""
Array = npt.NDArray[np.int64]
_WHERE = np.dtype([("line", "i8"), ("offset", "i8"), ("item", "i8")])


@dataclass(frozen=True, slots=True)
class Share:
    """What one source (format and vantage point) contributed."""

    source: str
    vantage: str
    counts: Counts
    records: int
    flows: int
    bytes: int
    """IP bytes of the flows it speaks for, both directions."""


@dataclass(slots=True)
class Joined:
    batch: FlowBatch = field(default_factory=lambda: FlowBatch.of([]))
    estimated: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))
    """Per flow: whether its counts rest on sampled (estimated) records."""
    source: npt.NDArray[np.object_] = field(default_factory=lambda: np.zeros(0, object))
    vantage: npt.NDArray[np.object_] = field(default_factory=lambda: np.zeros(0, object))
    """Per flow: the source (format) and vantage point that speak for it."""
    tags: Array = field(default_factory=lambda: np.zeros(0, np.int64))
    """Per flow: the tag (which file) of the record that began it."""
    where: npt.NDArray[np.void] = field(default_factory=lambda: np.zeros(0, _WHERE))
    """Per flow: the place (line, offset, item) in its file of the record that began it."""
    records: int = 0
    merged_directions: int = 0
    """Records joined into a flow another record began (the other direction, a later window)."""
    merged_duplicates: int = 0
    """Records of a connection another vantage point already logged: counted once."""
    rejected: int = 0
    gaps: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    """Seconds not seen, by (source, vantage point, nodata|skipdata)."""
    shares: list[Share] = field(default_factory=list)

    @property
    def flows(self) -> list[Flow]:
        return list(self.batch.records())

    @property
    def origins(self) -> list[tuple[str, str]]:
        return list(zip(self.source.tolist(), self.vantage.tolist(), strict=True))

    @property
    def evidence(self) -> list[tuple[int, Where]]:
        return [(t, Where(*w)) for t, w in zip(self.tags.tolist(), self.where.tolist(),
                                                strict=True)]  # fmt: skip



def join_records(items: Iterable[Item | FlowRecordBatch]) -> Joined:
    """Records (objects or batches) of one file."""
    held: list[FlowRecord] = []
    batches: list[FlowRecordBatch] = []
    gaps: list[CoverageGap] = []
    for item in items:
        if isinstance(item, FlowRecordBatch):
            batches.append(item)
        elif isinstance(item, CoverageGap):
            gaps.append(item)
        else:
            held.append(item)
    by_source: dict[str, list[FlowRecord]] = {}
    for r in held:
        by_source.setdefault(r.source, []).append(r)
    batches += [FlowRecordBatch.of(rs) for rs in by_source.values()]
    return join_batches(batches, [0] * len(batches), gaps)


def join_batches(batches: Sequence[FlowRecordBatch], tags: Sequence[int],
                 gaps: Iterable[CoverageGap] = ()) -> Joined:  # fmt: skip
    """Join the records of several files, each batch tagged with its file's number."""
    out = Joined()
    for g in gaps:
        out.gaps[(g.source, g.vantage, g.gap.value)] += round(g.seconds)
    rows, texts, sources = concat(batches, tags)
    out.records = n = len(rows)
    if not n:
        return out
    whole = np.isin(rows["source"], [c for name, c in sources.items() if name in WHOLE])
    key, forward = _conversation(rows, whole)
    order = np.lexsort((np.arange(n), rows["first_ns"], key[2], key[1], key[0]))
    r, key, forward = rows[order], [k[order] for k in key], forward[order]
    starts = _windows(r, key)
    out.merged_directions = n - len(starts)
    conv = _add_up(r, forward, starts)
    first = r[starts]
    kept, out.merged_duplicates = _dedupe(first, conv["records"], key[1][starts], key[2][starts])
    _shares(out, first, conv, kept, texts)
    f, c = first[kept], conv[kept]
    out.estimated = c["estimated"]
    out.source, out.vantage = texts[f["source"]], texts[f["vantage"]]
    out.tags = f["tag"].astype(np.int64)
    out.where = np.empty(len(f), _WHERE)
    for name in ("line", "offset", "item"):
        out.where[name] = f[name]
    rejected = f["action"] == REJECT
    out.rejected = int(np.count_nonzero(rejected))
    out.batch = _flows(f, c, texts, rejected)
    return out


def _conversation(rows: npt.NDArray[np.void], whole: npt.NDArray[np.bool_]) -> tuple[
        list[Array], npt.NDArray[np.bool_]]:  # fmt: skip
    """What says which conversation a record is of, as three int64 keys (vantage point and,
    for a whole record, its own number; the two endpoints, lower first; protocol, their
    ports, and whether rejected), and whether the record runs from the lower endpoint to the
    higher. The last two keys are the connection, whatever the vantage point."""
    src, dst = rows["src"].astype(np.int64), rows["dst"].astype(np.int64)
    sport, dport = rows["sport"].astype(np.int64), rows["dport"].astype(np.int64)
    forward = (src < dst) | ((src == dst) & (sport <= dport))
    alone = np.where(whole, np.arange(len(rows)), -1) + 1
    seen = rows["vantage"].astype(np.int64) << 32 | alone
    ends = np.where(forward, src << 32 | dst, dst << 32 | src)
    ports = np.where(forward, sport << 16 | dport, dport << 16 | sport)
    rest = rows["proto"].astype(np.int64) << 40 | ports << 1 | (rows["action"] == REJECT)
    return [seen, ends, rest], forward


def _windows(r: npt.NDArray[np.void], key: list[Array]) -> Array:
    """Where each flow's records begin, in records sorted by conversation and first time: a
    new conversation, or a window that begins more than `SLACK_NS` after every earlier window
    of its conversation ended."""
    n = len(r)
    same = np.ones(n, bool)
    same[0] = False
    for k in key:
        same[1:] &= k[1:] == k[:-1]
    ended = _running_max(r["last_ns"].copy(), same)
    begins = ~same
    begins[1:] |= r["first_ns"][1:] > ended[:-1] + SLACK_NS
    return np.flatnonzero(begins)


def _running_max(values: Array, same: npt.NDArray[np.bool_]) -> Array:
    """The running maximum of `values` within runs (`same`: this element continues the run
    of the one before), by doubling: log2 of the longest run steps."""
    run = np.cumsum(~same)
    step = 1
    while step < len(values) and (run[step:] == run[:-step]).any():
        inside = run[step:] == run[:-step]
        values[step:] = np.where(inside, np.maximum(values[step:], values[:-step]), values[step:])
        step *= 2
    return values


_CONV = np.dtype([("packets", "i8"), ("bytes", "i8"), ("packets_rev", "i8"), ("bytes_rev", "i8"),
                  ("flags", "i8"), ("flags_rev", "i8"), ("last_ns", "i8"), ("records", "i8"),
                  ("estimated", "?")])  # fmt: skip


def _add_up(r: npt.NDArray[np.void], forward: npt.NDArray[np.bool_], starts: Array
            ) -> npt.NDArray[np.void]:  # fmt: skip
    """Each flow's counts in the direction of the record that began it."""
    begun = forward[starts]
    same = forward == np.repeat(begun, np.diff(np.append(starts, len(r))))
    out = np.zeros(len(starts), _CONV)
    for mine, theirs in (("packets", "packets_rev"), ("bytes", "bytes_rev")):
        a, b = r[mine], r[theirs]
        out[mine] = np.add.reduceat(np.where(same, a, b), starts)
        out[theirs] = np.add.reduceat(np.where(same, b, a), starts)
    fwd, rev = r["tcp_flags"].astype(np.int64), r["tcp_flags_rev"].astype(np.int64)
    out["flags"] = np.bitwise_or.reduceat(np.where(same, fwd, rev), starts)
    out["flags_rev"] = np.bitwise_or.reduceat(np.where(same, rev, fwd), starts)
    out["last_ns"] = np.maximum.reduceat(r["last_ns"], starts)
    out["records"] = np.diff(np.append(starts, len(r)))
    out["estimated"] = np.logical_or.reduceat(r["sampling"] != 1, starts)
    return out


def _dedupe(first: npt.NDArray[np.void], records: Array, ends: Array, rest: Array
            ) -> tuple[Array, int]:  # fmt: skip
    """The flows kept, in order of their first time (then of their first record), and the
    records of those not kept: a connection another vantage point already logged at an
    overlapping time. Only connections seen at more than one vantage point are compared."""
    n = len(first)
    order = np.lexsort((np.arange(n), first["first_ns"]))
    by = np.lexsort((rest, ends))
    new = np.ones(n, bool)
    new[1:] = (ends[by][1:] != ends[by][:-1]) | (rest[by][1:] != rest[by][:-1])
    group = np.empty(n, np.int64)
    group[by] = np.cumsum(new) - 1
    vantage = first["vantage"].astype(np.int64)
    begins = np.flatnonzero(new)
    sorted_vantage = vantage[by]
    several = (np.minimum.reduceat(sorted_vantage, begins)
               != np.maximum.reduceat(sorted_vantage, begins))  # fmt: skip
    shared = several[group]
    if not shared.any():
        return order, 0
    drop = np.zeros(n, bool)
    peers: dict[int, list[int]] = {}
    for i in order[shared[order]].tolist():
        mine = peers.setdefault(int(group[i]), [])
        if any(vantage[p] != vantage[i] and _overlap(first, p, i) for p in mine):
            drop[i] = True
        else:
            mine.append(i)
    return order[~drop[order]], int(records[drop].sum())


def _overlap(first: npt.NDArray[np.void], a: int, b: int) -> bool:
    return bool(first["first_ns"][a] <= first["last_ns"][b] + SLACK_NS
                and first["first_ns"][b] <= first["last_ns"][a] + SLACK_NS)


def _shares(out: Joined, first: npt.NDArray[np.void], conv: npt.NDArray[np.void], kept: Array,
            texts: npt.NDArray[np.object_]) -> None:  # fmt: skip
    """Per (source, vantage point, exact or not) of the records that began flows, in order of
    their first flow: records, flows kept, bytes of those."""
    n = len(first)
    order = np.lexsort((np.arange(n), first["first_ns"]))
    exact = (first["sampling"] == 1).astype(np.int64)
    slot = first["source"].astype(np.int64) << 33 | first["vantage"].astype(np.int64) << 1 | exact
    found, at, inverse = np.unique(slot[order], return_index=True, return_inverse=True)
    group = np.empty(n, np.int64)
    group[order] = inverse
    m = len(found)
    records = np.bincount(group, conv["records"], m)
    is_kept = np.zeros(n, bool)
    is_kept[kept] = True
    flows = np.bincount(group, is_kept, m)
    size = np.bincount(group, np.where(is_kept, conv["bytes"] + conv["bytes_rev"], 0), m)
    out.shares = [Share(texts[k >> 33], texts[k >> 1 & 0xFFFF_FFFF],
                        Counts.EXACT if k & 1 else Counts.ESTIMATED,
                        int(records[g]), int(flows[g]), int(size[g]))
                  for g in np.argsort(at, kind="stable").tolist()
                  for k in [int(found[g])]]  # fmt: skip


def _flows(f: npt.NDArray[np.void], c: npt.NDArray[np.void], texts: npt.NDArray[np.object_],
           rejected: npt.NDArray[np.bool_]) -> FlowBatch:  # fmt: skip
    """The flows, each with its initiator first (`initiator_first`, on columns)."""
    n = len(f)
    cols = {
        "proto": f["proto"].astype(np.int64), "src": f["src"], "sport": f["sport"],
        "dst": f["dst"], "dport": f["dport"], "packets_fwd": c["packets"],
        "bytes_fwd": c["bytes"], "packets_rev": c["packets_rev"], "bytes_rev": c["bytes_rev"],
        "tcp_flags_fwd": c["flags"], "tcp_flags_rev": c["flags_rev"],
    }  # fmt: skip
    turn, how = _initiator(cols)
    for a, b in (("src", "dst"), ("sport", "dport"), ("packets_fwd", "packets_rev"),
                 ("bytes_fwd", "bytes_rev"), ("tcp_flags_fwd", "tcp_flags_rev")):  # fmt: skip
        x, y = cols[a], cols[b]
        cols[a], cols[b] = np.where(turn, y, x), np.where(turn, x, y)
    zero = np.zeros(n, np.int64)
    end = np.where(rejected, "rejected", "record").astype(object)
    names = np.empty(n, object)
    names[:] = [()] * n
    columns = (
        cols["proto"], texts[cols["src"]], cols["sport"].astype(np.int64), texts[cols["dst"]],
        cols["dport"].astype(np.int64), zero, cols["packets_fwd"], cols["bytes_fwd"], zero,
        cols["packets_rev"], cols["bytes_rev"], zero, f["first_ns"].copy(), c["last_ns"],
        cols["tcp_flags_fwd"], cols["tcp_flags_rev"], end, np.arange(n, dtype=np.int64),
        names, DIRECTION[how].astype(object),
    )  # fmt: skip
    return FlowBatch(columns)


DIRECTION = np.array(["syn", "ports", "first-packet"], dtype=object)


SYN, ACK = 0x02, 0x10


def _initiator(c: dict[str, Array]) -> tuple[npt.NDArray[np.bool_], Array]:
    """Whether to turn each flow round so that its initiator is `src`, decided as for packets
    without the policy: the direction whose TCP flags hold SYN without ACK (AWS tcp-flags,
    NetFlow tcpControlBits), else the server's port (well-known < registered < ephemeral: a
    server listens on the lower), else the first record's direction; and which of those
    decided (an index into `DIRECTION`)."""
    ff, fr = c["tcp_flags_fwd"], c["tcp_flags_rev"]
    syn = (c["proto"] == 6) & (((ff | fr) & SYN) != 0)
    fwd_syn, rev_syn = (ff & (SYN | ACK)) == SYN, (fr & (SYN | ACK)) == SYN
    turned_syn = syn & rev_syn & ~fwd_syn
    by_syn = turned_syn | (syn & fwd_syn)
    src, dst = _ranks(c["sport"]), _ranks(c["dport"])
    by_ports = ~by_syn & np.isin(c["proto"], (6, 17, 132)) & (src != dst)
    turn = turned_syn | (by_ports & (src < dst))
    return turn, np.where(by_syn, 0, np.where(by_ports, 1, 2))


def _ranks(port: Array) -> Array:
    return np.where(port < 1024, 0, np.where(port < EPHEMERAL, 1, 2))
