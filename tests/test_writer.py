"""The packet and capture writer of the demo, the bench and the tests (pcaps/): an independent
reader (scapy's) reads back what it wrote, and scapy's own checksums equal the ones it wrote."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Packet as Dissected
from scapy.utils import RawPcapNgReader, RawPcapReader

from pcaps.capfile import SEC, Interface, Order, Packet, pcap_file, pcapng_file
from pcaps.frames import (
    ETH_IPV4,
    ETH_IPV6,
    IPPROTO_ICMP,
    IPPROTO_TCP,
    IPPROTO_UDP,
    TH_ACK,
    TH_PSH,
    ethernet,
    icmp_echo,
    ip,
    tcp,
    udp,
)

MACS = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
PACKETS = [
    Packet(1_700_000_000 * SEC + 123_456_789, bytes(range(61)), 0),
    Packet(1_700_000_001 * SEC + 999_999_999, b"\xab" * 17, 1, origlen=1514),
    Packet(1_700_000_002 * SEC, b"", 0),
]
"""Sub-microsecond digits, a frame cut short of its wire length, an empty frame."""


@pytest.mark.parametrize("e", ["<", ">"])
def test_pcapng_reads_back_with_each_interfaces_clock(tmp_path: Path, e: Order) -> None:
    interfaces = [Interface(tsresol=9), Interface(113, 65535, "lo", "cooked")]
    path = tmp_path / "w.pcapng"
    path.write_bytes(pcapng_file(PACKETS, interfaces, application="tests", e=e))
    with RawPcapNgReader(str(path)) as reader:
        read = list(reader)
    assert [frame for frame, _ in read] == [p.frame for p in PACKETS]
    assert [(m.linktype, m.ifname) for _, m in read] == [(1, b"eth0"), (113, b"lo"), (1, b"eth0")]
    assert [m.wirelen for _, m in read] == [61, 1514, 0]
    times = [((m.tshigh << 32) + m.tslow) * SEC // m.tsresol for _, m in read]
    assert times == [PACKETS[0].ts_ns, PACKETS[1].ts_ns // 1000 * 1000, PACKETS[2].ts_ns]


@pytest.mark.parametrize("e", ["<", ">"])
@pytest.mark.parametrize("nano", [False, True])
def test_pcap_reads_back_at_its_resolution(tmp_path: Path, e: Order, nano: bool) -> None:
    path = tmp_path / "w.pcap"
    path.write_bytes(pcap_file(PACKETS, 113, nano=nano, e=e))
    with RawPcapReader(str(path)) as reader:
        read = list(reader)
    assert reader.linktype == 113 and bool(reader.nano) == nano
    assert [frame for frame, _ in read] == [p.frame for p in PACKETS]
    assert [(m.caplen, m.wirelen) for _, m in read] == [(61, 61), (17, 1514), (0, 0)]
    unit = 1 if nano else 1000
    times = [p.ts_ns // unit * unit for p in PACKETS]
    assert [m.sec * SEC + m.usec * unit for _, m in read] == times


def rechecked(frame: bytes) -> tuple[Dissected, Dissected]:
    """The frame as dissected, and as scapy rebuilds it with checksums of its own."""
    got = Ether(frame)
    again = got.copy()
    for layer in (IP, TCP, UDP, ICMP):
        if layer in again:
            del again[layer].chksum
    return got, Ether(bytes(again))


LAYER = {IPPROTO_TCP: TCP, IPPROTO_UDP: UDP, IPPROTO_ICMP: ICMP}
SEGMENT = tcp(40000, 443, 7, 9, TH_ACK | TH_PSH, 502, b"odd-length payload")
CASES = {
    "tcp4": ("10.0.0.1", "192.0.2.1", IPPROTO_TCP, SEGMENT, None),
    "udp4-vlan": ("10.0.0.1", "192.0.2.1", IPPROTO_UDP, udp(5353, 53, b"\x12\x34q"), 20),
    "icmp4": ("10.0.0.1", "192.0.2.1", IPPROTO_ICMP, icmp_echo(0x51, 1, bytes(range(56))), None),
    "tcp6": ("2001:db8::1", "2001:db8::2", IPPROTO_TCP, SEGMENT, None),
    "udp6-vlan": ("2001:db8::1", "2001:db8::2", IPPROTO_UDP, udp(1, 2, b"x" * 7), 30),
}


@pytest.mark.parametrize("case", CASES)
def test_checksums_are_the_ones_scapy_computes(case: str) -> None:
    src, dst, proto, l4, vlan = CASES[case]
    a, b = ip_address(src), ip_address(dst)
    frame = ethernet(*MACS, ETH_IPV4 if a.version == 4 else ETH_IPV6, ip(a, b, proto, l4), vlan)
    got, again = rechecked(frame)
    assert (IP if a.version == 4 else IPv6) in got and LAYER[proto] in got
    assert bytes(again) == frame
