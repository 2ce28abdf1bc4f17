"""Two sources of the same traffic, compared flow by flow: what one saw and the other did not,
and bytes that differ beyond what the two sources can promise.

Flows are matched by Community ID (so either direction, whichever side each source took for
the initiator) and overlapping time, after all flows of one ID in a source are added up (a
capture may end a flow at an idle timeout where a flow log cuts it into windows). Bytes are
compared per direction between the two endpoints. Exact sources (a capture, a journal, Zeek,
AWS, OCI, Azure, unsampled NetFlow) must agree to the byte; where either side's counts are
estimated from samples, a difference up to `ESTIMATED_PRECISION` of the larger count is within
what the sources state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from agent.flows.community import community_id
from agent.model import Flow

ESTIMATED_PRECISION = 0.25
SLACK_NS = 60 * 1_000_000_000
"""Windows this close still overlap: a flow log's aggregation interval can start earlier than
the first packet a capture holds."""


@dataclass(slots=True)
class Seen:
    """All flows of one Community ID in one source, added up; `up` is from the endpoint that
    sorts first (address, then port) to the other, `down` the reverse."""

    flow: Flow
    first_ns: int
    last_ns: int
    up: list[int]  # packets, bytes
    down: list[int]
    exact: bool
    flows: int = 1


@dataclass(frozen=True, slots=True)
class Differ:
    cid: str
    a: Seen
    b: Seen


@dataclass(slots=True)
class Crosscheck:
    a: int = 0
    b: int = 0
    matched: int = 0
    only_a: list[Seen] = field(default_factory=list)
    only_b: list[Seen] = field(default_factory=list)
    differ: list[Differ] = field(default_factory=list)

    @property
    def agree(self) -> bool:
        return not (self.only_a or self.only_b or self.differ)


def summarize(flows: Iterable[tuple[Flow, bool]]) -> dict[str, Seen]:
    """(flow, exact) -> the source's flows by Community ID."""
    out: dict[str, Seen] = {}
    for f, exact in flows:
        cid = community_id(f.proto, f.src, f.sport, f.dst, f.dport)
        fwd, rev = [f.packets_fwd, f.bytes_fwd], [f.packets_rev, f.bytes_rev]
        up, down = (fwd, rev) if (f.src, f.sport) <= (f.dst, f.dport) else (rev, fwd)
        seen = out.get(cid)
        if seen is None:
            out[cid] = Seen(f, f.first_ns, f.last_ns, up, down, exact)
            continue
        seen.up = [x + y for x, y in zip(seen.up, up, strict=True)]
        seen.down = [x + y for x, y in zip(seen.down, down, strict=True)]
        seen.first_ns, seen.last_ns = min(seen.first_ns, f.first_ns), max(seen.last_ns, f.last_ns)
        seen.exact &= exact
        seen.flows += 1
    return out


def crosscheck(a: dict[str, Seen], b: dict[str, Seen]) -> Crosscheck:
    out = Crosscheck(len(a), len(b))
    for cid, x in a.items():
        y = b.get(cid)
        if y is None or not _overlap(x, y):
            out.only_a.append(x)
            continue
        out.matched += 1
        if not (_close(x.up[1], y.up[1], x, y) and _close(x.down[1], y.down[1], x, y)):
            out.differ.append(Differ(cid, x, y))
    out.only_b = [y for cid, y in b.items() if cid not in a or not _overlap(a[cid], y)]
    return out


def _overlap(x: Seen, y: Seen) -> bool:
    return x.first_ns <= y.last_ns + SLACK_NS and y.first_ns <= x.last_ns + SLACK_NS


def _close(m: int, n: int, x: Seen, y: Seen) -> bool:
    if x.exact and y.exact:
        return m == n
    return abs(m - n) <= ESTIMATED_PRECISION * max(m, n)
