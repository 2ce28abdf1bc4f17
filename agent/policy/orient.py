"""Which side of a flow is local: the vantage point's own networks decide before the packets do.

The flow table guesses who initiated a flow (the SYN, else the ports, else the first packet), and
a capture that starts mid-connection can fool the weaker two. The policy knows better where its
hosts are: every network that a `scope.include` rule names as `local`. When exactly one side of a
flow lies in them, that side is the local one, and the flow is turned round if it was the other;
otherwise (both sides, or neither) the table's direction stands. Pure: flows in, flows out.

A flow that is turned round keeps no names: they were found for the side the table took as the
responder, which is the local side now (a DNS answer for it, a server name it answered to).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from agent.intel.cidr import Cidr, parse_address
from agent.model import LOCAL_NETWORKS, Flow
from agent.policy.model import Policy


def local_networks(policy: Policy) -> tuple[Cidr, ...]:
    """Every network a scope rule names as `local`, in the order written."""
    return tuple(n for rule in policy.include for n in rule.match.local or ())


def orient(flow: Flow, local: Sequence[Cidr]) -> Flow:
    """`flow` with its local side as `src`, by the local networks when they tell."""
    if not local:
        return flow
    src, dst = within(flow.src, local), within(flow.dst, local)
    if src == dst:
        return flow
    if src:
        return flow._replace(direction=LOCAL_NETWORKS)
    return turned(flow)


def turned(f: Flow) -> Flow:
    """The flow seen from its other side: addresses, ports, counters and flags swap."""
    return f._replace(
        src=f.dst, sport=f.dport, dst=f.src, dport=f.sport,
        packets_fwd=f.packets_rev, bytes_fwd=f.bytes_rev, frame_bytes_fwd=f.frame_bytes_rev,
        packets_rev=f.packets_fwd, bytes_rev=f.bytes_fwd, frame_bytes_rev=f.frame_bytes_fwd,
        tcp_flags_fwd=f.tcp_flags_rev, tcp_flags_rev=f.tcp_flags_fwd,
        names=(), direction=LOCAL_NETWORKS,
    )  # fmt: skip


def within(address: str, nets: Sequence[Cidr]) -> bool:
    """Is the address (IPv4, IPv6, IPv4-mapped IPv6, or with a zone index) in any network?"""
    value = _value(address)
    return any(
        (n.first_hi << 64 | n.first_lo) <= value <= (n.last_hi << 64 | n.last_lo) for n in nets
    )


@lru_cache(maxsize=1 << 16)
def _value(address: str) -> int:
    return parse_address(address.split("%", 1)[0])[0]
