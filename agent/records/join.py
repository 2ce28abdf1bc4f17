"""Flow records -> flows: the two directions of a connection joined, the same connection seen
from two vantage points counted once.

Cloud flow logs (AWS, OCI, GCP) and NetFlow v5/v9 write one record per direction per window
per interface. At one vantage point, records of one conversation (the same Community ID, so
either direction, and the same action) whose windows overlap or lie within `SLACK_NS` of each
other are one flow, later windows adding to it; its initiator (`src`) is found as for packets
without the policy (`initiator_first`: a SYN without ACK, else the ports, else the first
record). Zeek's records are whole conversations already and are never
joined with each other. A connection logged at both ends (two interfaces, two VMs, a router's
ingress and egress) appears as one flow per vantage point with the same Community ID and
overlapping windows: the vantage point read first speaks for it, and the others' records are
counted in `merged_duplicates`, never added. Which side is local is decided later: the judge
turns flows round by the policy's networks, as for packets.

A rejected record is traffic that was tried and refused: it stays apart from accepted traffic
of the same tuple and its flow's `end` is `rejected` (else `record`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from agent.flows.columns import EPHEMERAL
from agent.flows.community import community_id
from agent.model import Flow
from agent.records.model import Action, Counts, CoverageGap, FlowRecord, Item, Where

SLACK_NS = 60 * 1_000_000_000
"""How far apart two windows of one conversation may be: AWS's shortest aggregation interval."""
WHOLE = frozenset({"zeek-conn"})
"""Sources whose every record is a whole conversation."""


@dataclass(slots=True)
class _Conversation:
    tag: int
    first: FlowRecord
    cid: str
    first_ns: int
    last_ns: int
    counts: list[int]  # packets, bytes, packets_rev, bytes_rev, flags, flags_rev
    records: int = 1
    estimated: bool = False


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
    flows: list[Flow] = field(default_factory=list)
    estimated: list[bool] = field(default_factory=list)
    """Per flow: whether its counts rest on sampled (estimated) records."""
    cids: list[str] = field(default_factory=list)
    """Per flow: its Community ID."""
    origins: list[tuple[str, str]] = field(default_factory=list)
    """Per flow: the (source, vantage point) that speaks for it."""
    evidence: list[tuple[int, Where]] = field(default_factory=list)
    """Per flow: the tag (which file) and place of the record that began it."""
    records: int = 0
    merged_directions: int = 0
    """Records joined into a flow another record began (the other direction, a later window)."""
    merged_duplicates: int = 0
    """Records of a connection another vantage point already logged: counted once."""
    rejected: int = 0
    gaps: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    """Seconds not seen, by (source, vantage point, nodata|skipdata)."""
    shares: list[Share] = field(default_factory=list)


def join_records(items: Iterable[Item]) -> Joined:
    return join_tagged((0, item) for item in items)


def join_tagged(items: Iterable[tuple[int, Item]]) -> Joined:
    """Join records of several files, each tagged with its file's number (in `evidence`)."""
    out = Joined()
    open_: dict[tuple[object, ...], _Conversation] = {}
    done: list[_Conversation] = []
    for tag, item in items:
        if isinstance(item, CoverageGap):
            out.gaps[(item.source, item.vantage, item.gap.value)] += round(item.seconds)
            continue
        out.records += 1
        a, b = (item.src, item.sport), (item.dst, item.dport)
        key = (item.vantage, item.proto, *(a + b if a <= b else b + a),
               item.action is Action.REJECT)  # fmt: skip
        conv = open_.get(key)
        if conv and item.source not in WHOLE and item.first_ns <= conv.last_ns + SLACK_NS:
            _add(conv, item)
            out.merged_directions += 1
            continue
        if conv:
            done.append(conv)
        cid = community_id(item.proto, item.src, item.sport, item.dst, item.dport)
        open_[key] = _Conversation(tag, item, cid, item.first_ns, item.last_ns, _counts(item),
                                   estimated=item.counts is Counts.ESTIMATED)  # fmt: skip
    done.extend(open_.values())
    _dedupe(done, out)
    return out


def _counts(r: FlowRecord) -> list[int]:
    return [r.packets, r.bytes, r.packets_rev, r.bytes_rev, r.tcp_flags, r.tcp_flags_rev]


def _add(conv: _Conversation, r: FlowRecord) -> None:
    same = (r.src, r.sport) == (conv.first.src, conv.first.sport)
    c = _counts(r) if same else [r.packets_rev, r.bytes_rev, r.packets, r.bytes,
                                 r.tcp_flags_rev, r.tcp_flags]  # fmt: skip
    conv.counts = [a + b for a, b in zip(conv.counts[:4], c[:4], strict=True)] + [
        conv.counts[4] | c[4], conv.counts[5] | c[5]]  # fmt: skip
    conv.first_ns, conv.last_ns = min(conv.first_ns, r.first_ns), max(conv.last_ns, r.last_ns)
    conv.records += 1
    conv.estimated |= r.counts is Counts.ESTIMATED


def _dedupe(convs: list[_Conversation], out: Joined) -> None:
    """Keep the first vantage point's flow of a connection; count the others' records."""
    order = sorted(range(len(convs)), key=lambda i: (convs[i].first_ns, i))
    kept: dict[tuple[str, bool], list[_Conversation]] = {}
    share: dict[tuple[str, str, Counts], list[int]] = {}
    for i in order:
        conv = convs[i]
        r = conv.first
        rejected = r.action is Action.REJECT
        slot = share.setdefault((r.source, r.vantage, r.counts), [0, 0, 0])
        slot[0] += conv.records
        peers = kept.setdefault((conv.cid, rejected), [])
        if any(p.first.vantage != r.vantage and _overlap(p, conv) for p in peers):
            out.merged_duplicates += conv.records
            continue
        peers.append(conv)
        p, b, pr, br, f, fr = conv.counts
        flow = Flow(
            r.proto, r.src, r.sport, r.dst, r.dport, 0, p, b, 0, pr, br, 0,
            conv.first_ns, conv.last_ns, f, fr, "rejected" if rejected else "record",
            len(out.flows),
        )  # fmt: skip
        out.flows.append(initiator_first(flow))
        out.estimated.append(conv.estimated)
        out.cids.append(conv.cid)
        out.origins.append((r.source, r.vantage))
        out.evidence.append((conv.tag, r.where))
        out.rejected += rejected
        slot[1] += 1
        slot[2] += b + br
    out.shares = [Share(s, v, c, n, f, b) for (s, v, c), (n, f, b) in share.items()]


SYN, ACK = 0x02, 0x10


def initiator_first(f: Flow) -> Flow:
    """The flow with its initiator as `src`, decided as for packets without the policy: the
    direction whose TCP flags hold SYN without ACK (AWS tcp-flags, NetFlow tcpControlBits),
    else the server's port (well-known < registered < ephemeral), else the first record's
    direction; `direction` says which."""
    if f.proto == 6 and (f.tcp_flags_fwd | f.tcp_flags_rev) & SYN:
        if f.tcp_flags_rev & (SYN | ACK) == SYN and f.tcp_flags_fwd & (SYN | ACK) != SYN:
            return _turned(f)._replace(direction="syn")
        if f.tcp_flags_fwd & (SYN | ACK) == SYN:
            return f._replace(direction="syn")
    src, dst = _rank(f.sport), _rank(f.dport)
    if f.proto in (6, 17, 132) and src != dst:
        return (_turned(f) if src < dst else f)._replace(direction="ports")
    return f._replace(direction="first-packet")


def _rank(port: int) -> int:
    """0: well-known (< 1024), 1: registered, 2: ephemeral: a server listens on the lower."""
    return 0 if port < 1024 else 1 if port < EPHEMERAL else 2


def _turned(f: Flow) -> Flow:
    return f._replace(
        src=f.dst, sport=f.dport, dst=f.src, dport=f.sport, packets_fwd=f.packets_rev,
        bytes_fwd=f.bytes_rev, packets_rev=f.packets_fwd, bytes_rev=f.bytes_fwd,
        tcp_flags_fwd=f.tcp_flags_rev, tcp_flags_rev=f.tcp_flags_fwd,
    )  # fmt: skip


def _overlap(a: _Conversation, b: _Conversation) -> bool:
    return a.first_ns <= b.last_ns + SLACK_NS and b.first_ns <= a.last_ns + SLACK_NS
