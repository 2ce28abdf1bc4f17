"""Which side is local, table-driven: the policy's local networks turn a flow round when only its
responder lies in them (IPv4, IPv6, IPv4-mapped IPv6, scoped addresses); both sides or neither
leave the flow table's direction standing."""

from __future__ import annotations

import pytest

from agent.intel.cidr import Cidr
from agent.model import LOCAL_NETWORKS, Flow
from agent.policy.load import parse_policy
from agent.policy.orient import local_networks, orient

POLICY = b"""\
version: 1
scope:
  include:
    - name: clients
      local: [10.20.0.0/24, 2001:db8:20::/64]
    - name: links
      local: fe80::/10
      protocols: [udp]
    - name: everything-else
      protocols: [tcp]
approve:
  - name: anywhere
    countries: US
"""


def flow(src: str, dst: str, direction: str = "ports") -> Flow:
    return Flow(proto=6, src=src, sport=443, dst=dst, dport=51000, depth=0, packets_fwd=3,
                bytes_fwd=300, frame_bytes_fwd=342, packets_rev=5, bytes_rev=5000,
                frame_bytes_rev=5070, first_ns=1, last_ns=2, tcp_flags_fwd=0x18,
                tcp_flags_rev=0x10, end="eof", serial=7, names=(("sni", "x.example"),),
                direction=direction)  # fmt: skip


@pytest.fixture(scope="module")
def local() -> tuple[Cidr, ...]:
    policy, problems = parse_policy(POLICY, "p.yaml")
    assert policy is not None and not problems
    return local_networks(policy)


def test_local_networks_are_every_scope_rules_local(local: tuple[Cidr, ...]) -> None:
    assert len(local) == 3  # two from `clients`, one from `links`; `everything-else` has none


TURNED = [
    ("ipv4 responder local", "192.0.2.7", "10.20.0.15"),
    ("ipv6 responder local", "2001:db8:ff::1", "2001:db8:20::5"),
    ("ipv4-mapped responder local", "192.0.2.7", "::ffff:10.20.0.15"),
    ("ipv4-mapped initiator remote", "::ffff:192.0.2.7", "10.20.0.15"),
    ("scoped responder local", "2001:db8:ff::1", "fe80::1%eth0"),
]
KEPT = [
    ("initiator local", "10.20.0.15", "192.0.2.7", LOCAL_NETWORKS),
    ("scoped initiator local", "fe80::2%eth1", "2001:db8:ff::1", LOCAL_NETWORKS),
    ("both local", "10.20.0.15", "10.20.0.16", "ports"),
    ("both local, mapped and scoped", "::ffff:10.20.0.15", "fe80::1%eth0", "ports"),
    ("neither local", "192.0.2.7", "198.51.100.1", "ports"),
    ("neither: an ipv4 outside the mapped block", "10.21.0.1", "192.0.2.7", "ports"),
]


@pytest.mark.parametrize(("name", "src", "dst"), TURNED, ids=[c[0] for c in TURNED])
def test_only_the_responder_local_turns_the_flow(
    local: tuple[Cidr, ...], name: str, src: str, dst: str
) -> None:
    f = flow(src, dst)
    got = orient(f, local)
    assert (got.src, got.sport, got.dst, got.dport) == (dst, 51000, src, 443)
    assert (got.packets_fwd, got.bytes_fwd, got.frame_bytes_fwd) == (5, 5000, 5070)
    assert (got.packets_rev, got.bytes_rev, got.frame_bytes_rev) == (3, 300, 342)
    assert (got.tcp_flags_fwd, got.tcp_flags_rev) == (0x10, 0x18)
    assert got.direction == LOCAL_NETWORKS
    assert got.names == ()  # they were the other side's
    assert (got.first_ns, got.last_ns, got.serial, got.end) == (1, 2, 7, "eof")


@pytest.mark.parametrize(("name", "src", "dst", "direction"), KEPT, ids=[c[0] for c in KEPT])
def test_otherwise_the_sides_stay(
    local: tuple[Cidr, ...], name: str, src: str, dst: str, direction: str
) -> None:
    f = flow(src, dst)
    assert orient(f, local) == f._replace(direction=direction)


def test_without_local_networks_the_table_decides() -> None:
    f = flow("192.0.2.7", "10.20.0.15", "first-packet")
    assert orient(f, ()) is f


def test_turning_twice_gives_the_flow_back(local: tuple[Cidr, ...]) -> None:
    once = orient(flow("192.0.2.7", "10.20.0.15"), local)
    assert orient(once, local) == once
