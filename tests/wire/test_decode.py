"""The decoder on single packets built with scapy: one row per IP layer, or a named reason."""

from __future__ import annotations

import numpy as np
import pytest
from scapy.contrib.geneve import GENEVE
from scapy.contrib.mpls import MPLS
from scapy.layers.inet import GRE, ICMP, IP, TCP, UDP
from scapy.layers.inet6 import (
    IPv6,
    IPv6ExtHdrDestOpt,
    IPv6ExtHdrFragment,
    IPv6ExtHdrHopByHop,
    IPv6ExtHdrRouting,
)
from scapy.layers.l2 import CookedLinux, Dot1AD, Dot1Q, Ether, Loopback
from scapy.layers.ppp import PPP, PPPoE
from scapy.layers.vxlan import VXLAN
from scapy.packet import Packet, Raw

from agent.flows.text import address
from agent.wire import reasons as R
from agent.wire import rows as D
from agent.wire.decode import decode_records


def decode(frame: bytes | Packet, linktype: int = 1) -> list[dict[str, object]]:
    data = np.frombuffer(bytes(frame), np.uint8)
    one = np.zeros(1, np.int64)
    rows = np.zeros((16, D.N_COLUMNS), np.uint64)
    _, n = decode_records(data, one * 0, one + len(data), one + linktype, 0, rows)
    out = []
    for r in rows[:n].tolist():
        if r[D.REASON]:
            out.append({"reason": R.NAMES[r[D.REASON]], "depth": r[D.DEPTH]})
        else:
            v = r[D.VERSION]
            out.append({
                "depth": r[D.DEPTH], "proto": r[D.PROTO],
                "src": address(r[D.SRC_HI], r[D.SRC_LO], v), "sport": r[D.SPORT],
                "dst": address(r[D.DST_HI], r[D.DST_LO], v), "dport": r[D.DPORT],
                "ip_len": r[D.IP_LEN], "flags": r[D.TCP_FLAGS], "frag": r[D.FRAG],
            })  # fmt: skip
    return out


TCP4 = IP(src="10.0.0.1", dst="129.213.0.10") / TCP(sport=40000, dport=443, flags="S")
UDP6 = IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=5353, dport=53) / Raw(b"x" * 20)
# protocol, reserved, ifindex, ARPHRD_ETHER, packet type, address length, address (8 bytes)
SLL2 = b"\x08\x00\x00\x00" + b"\x00\x00\x00\x02" + b"\x00\x01\x04\x06" + b"\x00" * 8
ETH = Ether(src="00:00:00:00:00:01", dst="00:00:00:00:00:02")


def flow(depth: int = 0, **want: object) -> dict[str, object]:
    base = {"depth": depth, "proto": 6, "src": "10.0.0.1", "sport": 40000,
            "dst": "129.213.0.10", "dport": 443, "ip_len": 40, "flags": 2, "frag": 0}  # fmt: skip
    return {**base, **want}


@pytest.mark.parametrize(
    "frame, linktype",
    [
        (ETH / TCP4, 1),
        (ETH / Dot1Q(vlan=7) / TCP4, 1),
        (ETH / Dot1AD(vlan=7) / Dot1Q(vlan=8) / TCP4, 1),
        (bytes(Ether(type=0x9100)) + bytes(Dot1Q(vlan=5, type=0x0800)) + bytes(TCP4), 1),
        (ETH / MPLS(label=16, s=0) / MPLS(label=17, s=1) / TCP4, 1),
        (ETH / PPPoE(sessionid=1) / PPP(proto=0x0021) / TCP4, 1),
        (bytes(TCP4), 101),
        (bytes(TCP4), 12),
        (bytes(TCP4), 14),
        (bytes(TCP4), 228),
        (CookedLinux(proto=0x0800) / TCP4, 113),
        (SLL2 + bytes(TCP4), 276),
        (Loopback(type=2) / TCP4, 0),
        (b"\x00\x00\x00\x02" + bytes(TCP4), 108),
        (b"\x00\x00\x00\x02" + bytes(TCP4), 0),  # NULL written on a big-endian host
    ],
)
def test_link_layers_reach_tcp(frame: bytes | Packet, linktype: int) -> None:
    assert decode(frame, linktype) == [flow()]


def test_ipv4_options_and_snaplen_cut() -> None:
    with_options = IP(src="10.0.0.1", dst="129.213.0.10", options=b"\x01" * 8) / TCP(
        sport=40000, dport=443, flags="S"
    )
    assert decode(ETH / with_options) == [flow(ip_len=48)]
    cut = bytes(ETH / TCP4 / Raw(b"y" * 500))[:60]  # the wire length stays in the IP header
    assert decode(cut) == [flow(ip_len=540)]


def test_ipv6_extension_headers() -> None:
    chain = IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting() / IPv6ExtHdrDestOpt()
    pkt = IPv6(src="2001:db8::1", dst="2001:db8::2") / chain / UDP(sport=5353, dport=53)
    [row] = decode(ETH / pkt)
    assert (row["proto"], row["sport"], row["dport"], row["ip_len"]) == (17, 5353, 53, 40 + 24 + 8)


def test_fragments_are_marked() -> None:
    first = IP(src="10.0.0.1", dst="10.0.0.2", id=7, flags="MF") / UDP(sport=1, dport=2)
    later = IP(src="10.0.0.1", dst="10.0.0.2", id=7, frag=100, proto=17) / Raw(b"z" * 16)
    assert decode(ETH / first)[0]["frag"] == 1
    [row] = decode(ETH / later)
    assert (row["frag"], row["sport"], row["dport"], row["ip_len"]) == (3, 0, 0, 36)
    v6 = IPv6(src="2001:db8::1", dst="2001:db8::2") / IPv6ExtHdrFragment(offset=10, m=1, nh=17)
    assert decode(ETH / v6 / Raw(b"q" * 8))[0]["frag"] == 2


def test_tunnels_give_outer_and_inner_rows() -> None:
    outer = IP(src="192.0.2.1", dst="192.0.2.2")
    cases = [
        (outer / UDP(sport=999, dport=4789) / VXLAN(vni=1) / ETH / TCP4, (17, 17)),
        (outer / UDP(sport=999, dport=6081) / GENEVE(proto=0x6558) / ETH / TCP4, (17, 17)),
        (outer / GRE(proto=0x0800) / TCP4, (47,)),
        (outer / TCP4, (4,)),
        (outer / IPv6(src="2001:db8::1", dst="2001:db8::2") / UDP(sport=1, dport=2), (41,)),
    ]
    for pkt, outer_protos in cases:
        rows = decode(ETH / pkt)
        assert [r["depth"] for r in rows] == [0, 1], pkt.summary()
        assert rows[0]["proto"] == outer_protos[0]
        assert rows[0]["src"] == "192.0.2.1"


def test_icmp_errors_quote_but_do_not_create_flows() -> None:
    quote = IP(src="10.0.0.2", dst="10.0.0.1") / UDP(sport=53, dport=4000)
    pkt = IP(src="10.0.0.9", dst="10.0.0.2") / ICMP(type=3, code=3) / quote
    assert [(r["proto"], r["depth"]) for r in decode(ETH / pkt)] == [(1, 0)]


@pytest.mark.parametrize(
    "frame, linktype, reason",
    [
        (bytes(ETH)[:10], 1, "truncated_link_header"),
        (bytes(Ether(type=0x0806)) + b"\x00" * 28, 1, "not_ip"),
        (bytes(ETH / TCP4)[:30], 1, "truncated_ip_header"),
        (bytes(ETH / TCP4)[: 14 + 20 + 3], 1, "truncated_transport_header"),
        (bytes(ETH / IP(ihl=3) / TCP()), 1, "bad_ip_header"),
        (b"\x50" + bytes(TCP4)[1:], 101, "bad_ip_header"),
        (bytes(TCP4), 9999, "unknown_linktype"),
        (bytes(ETH / MPLS(s=1) / Raw(b"\x90" * 30)), 1, "mpls_unknown_payload"),
    ],
)
def test_bad_packets_have_named_reasons(frame: bytes, linktype: int, reason: str) -> None:
    assert decode(frame, linktype) == [{"reason": reason, "depth": 0}]


def test_truncated_tunnel_is_an_anomaly_inside_a_decoded_record() -> None:
    pkt = bytes(ETH / IP(src="192.0.2.1", dst="192.0.2.2") / UDP(dport=4789) / VXLAN() / ETH)
    rows = decode(pkt[:-4])
    assert rows[0]["depth"] == 0 and rows[1] == {"reason": "truncated_link_header", "depth": 1}
