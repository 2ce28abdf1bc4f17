"""Every NetFlow v5/v9 and IPFIX sample in ../shared/flowlogs/netflow-ipfix, decoded in place.

Expected values come from tshark 4.0 (Debian's; `tshark -V -d udp.port==N,cflow` over the
template captures and data captures joined with `mergecap -a` in the order given, so its
template state carries over as ours does), never from this decoder: the flow count is its
number of `Flow`/`pdu` entries in data sets, bytes and packets the sums of its `Octets` and
`Packets` lines, multiplied by the sampling interval tshark shows in the options record or
the flow record (samplingPacketInterval 1 with samplingPacketSpace 999 is 1 in 1000, RFC 5476).
"""

from __future__ import annotations

import pytest

from agent.capture import open_capture
from agent.records import Counts, FlowRecord
from agent.records.netflow import Collector
from agent.records.netflow.source import EXPORT_PORTS, export_datagrams
from tests.truth import SHARED

SAMPLES = SHARED / "flowlogs" / "netflow-ipfix"
PORTS = EXPORT_PORTS | {9990, 8096, 2100, 6343}
"""The samples' collector ports: akvorado's tests use 9990, 8096 and 2100 too; 6343 is sFlow."""


def decode(*names: str) -> tuple[list[FlowRecord], Collector]:
    if not SAMPLES.exists():
        pytest.skip(f"needs the flow samples at {SAMPLES}")
    collector = Collector()
    out: list[FlowRecord] = []
    for name in names:
        with open_capture(str(SAMPLES / f"akvorado__{name}.pcap")) as source:
            for d in export_datagrams(source, PORTS):
                out += collector.feed(d.payload, d.exporter, d.offset, d.ts_ns)
    return out, collector


# files in order -> (flows, bytes, packets, {sampling rate: flows}, skipped)
CASES = {
    "nfv5": (["netflow__nfv5"], 29, 88_345, 78, {1: 29}, {}),
    "v9 options in the data's datagram": (
        ["netflow__data+templates"], 10, 54_592 * 100, 48 * 100, {100: 10},
        {"unknown_template": 1},  # its first set is data for a template that comes after it
    ),
    "v9 options and templates in other files": (
        ["netflow__options-template", "netflow__options-data", "netflow__template",
         "netflow__data"], 4, 5_848 * 30_000, 4 * 30_000, {30_000: 4}, {},
    ),
    "v9 two samplers": (
        ["netflow__multiplesamplingrates-options-template",
         "netflow__multiplesamplingrates-options-data",
         "netflow__multiplesamplingrates-template", "netflow__multiplesamplingrates-data"],
        12, 1_348 * 4_000 + 13_470 * 2_000, 18 * 4_000 + 20 * 2_000, {4_000: 1, 2_000: 11}, {},
    ),
    "v9 interval in the record": (
        ["netflow__samplingrate-template", "netflow__samplingrate-data"],
        6, 3_740 * 2_048, 6 * 2_048, {2_048: 6}, {},
    ),
    "v9 icmp, ipv4 and ipv6": (
        ["netflow__icmp-template", "netflow__icmp-data"], 4, 376, 4, {1: 4}, {},
    ),
    "v9 nat events have no counters": (["netflow__nat"], 0, 0, 0, {}, {"no_counters": 9}),
    "ipfix biflows, microseconds": (
        ["netflow__ipfixprobe-templates", "netflow__ipfixprobe-data"], 4, 24_268, 34, {1: 4}, {},
    ),
    "ipfix ipv6, sampling by template id": (["netflow__mpls"], 2, 979 * 10, 11 * 10, {10: 2}, {}),
    "ipfix interval and space": (
        ["netflow__physicalinterfaces"], 8, 31_111 * 1_000, 29 * 1_000, {1_000: 8}, {},
    ),
}  # fmt: skip
FRAMES = {
    "datalink": [(17, "51.51.51.51", 55501, "52.52.52.52", 11777, 96)],
    "ipfix-srv6": [(4, "fc30:2200:1b::f", 0, "fc30:2200:23:e009::", 0, 64 + 40)],
    "juniper-cpid": [(4, "fc30:2200:1b::f", 0, "fc30:2200:23:e009::", 0, 64 + 40)],
}  # fmt: skip
"""IPFIX records that carry a sampled frame (dataLinkFrameSection), decoded as a packet: tshark's
first IP header in the frame (the outer one of SRv6's IPv6-in-IPv6), its IP length."""


@pytest.mark.parametrize("name", FRAMES)
def test_sampled_frames_are_decoded_as_packets(name: str) -> None:
    got, c = decode(f"netflow__{name}-template", f"netflow__{name}-data")
    assert [(r.proto, r.src, r.sport, r.dst, r.dport, r.bytes) for r in got] == FRAMES[name]
    assert [(r.source, r.packets, r.counts) for r in got] == [("ipfix", 1, Counts.EXACT)]
    assert dict(c.stats.skipped) == {}


def test_frames_over_mpls_with_a_control_word() -> None:
    """tshark decodes nine of the ten frames to IPv4 under the labels (these IP lengths); the
    fourth (label 17) it reads as Ethernet of type 0, where the control word is: ours finds
    198.51.100.1 -> .2 after it, IP length 1492."""
    got, c = decode("netflow__ethernet-over-mpls-with-control-word-template",
                    "netflow__ethernet-over-mpls-with-control-word-data")  # fmt: skip
    tshark = [1440, 1500, 1500, 965, 1440, 1500, 1500, 1500, 1500]
    assert [r.bytes for r in got] == tshark[:3] + [1492] + tshark[3:]
    assert (got[3].src, got[3].dst, got[0].src, got[0].sport) == (
        "198.51.100.1", "198.51.100.2", "198.51.100.19", 80)  # fmt: skip
    assert sum(r.bytes for r in got) == 12_845 + 1492 and dict(c.stats.skipped) == {}


SFLOW = {
    "data-1140": (5, 5 * 1024, 5_080_064), "data-discard-interface": (1, 1024, 1_536_000),
    "data-encap-vxlan": (1, 1, 154), "data-icmpv4": (1, 1, 84), "data-icmpv6": (1, 1, 72),
    "data-local-interface": (1, 1024, 1_536_000), "data-multiple-interfaces": (1, 1024, 1_536_000),
    "data-qinq": (1, 4096, 327_680), "data-sflow-expanded-sample": (1, 1000, 104_000),
    "data-sflow-ipv4-data": (1, 256, 344_064), "data-sflow-raw-ipv4": (2, 2, 64),
}  # fmt: skip
"""sFlow file -> (samples, packets, IP bytes): tshark's flow samples, the sum of their
sampling rates, and of each rate times the sampled packet's IP length (IPv4 Total Length,
IPv6 Payload Length + 40 of the first IP header in the sampled header)."""


@pytest.mark.parametrize("name", SFLOW)
def test_sflow_samples_are_decoded_as_packets_and_scaled(name: str) -> None:
    got, c = decode(f"sflow__{name}")
    assert (len(got), sum(r.packets for r in got), sum(r.bytes for r in got)) == SFLOW[name]
    assert dict(c.stats.skipped) == {} and c.stats.flows == len(got)
    assert all(r.source == "sflow" and r.sampling == r.packets for r in got)
    assert all((r.counts == Counts.EXACT) == (r.sampling == 1) for r in got)


def test_sflow_fields_of_a_sampled_header() -> None:
    """tshark: agent 49.49.49.49, sub-agent 1, expanded sample of source 182 at 1 in 256;
    the header's UDP 50.50.50.50:46622 -> 51.51.51.51:58631, IPv4 total length 1344."""
    (r,) = decode("sflow__data-sflow-ipv4-data")[0]
    assert (r.vantage, r.proto, r.src, r.sport, r.dst, r.dport) == (
        "49.49.49.49/1.182", 17, "50.50.50.50", 46622, "51.51.51.51", 58631,
    )  # fmt: skip
    assert (r.packets, r.bytes, r.counts, r.where.item) == (256, 1344 * 256, Counts.ESTIMATED, 0)
    assert r.first_ns == r.last_ns == 1676064797_999145000  # the datagram's arrival


def test_v5_fields_and_times() -> None:
    """tshark: header SysUptime 2874339 s at 1680626679 s; pdu 1 Start/End 2874324 s."""
    got, _ = decode("netflow__nfv5")
    r = got[0]
    assert (r.source, r.vantage, r.proto, r.src, r.sport, r.dst, r.dport) == (
        "netflow-v5",
        "10.19.144.41/0.3",
        6,
        "161.202.212.212",
        30104,
        "202.152.70.24",
        11963,
    )
    assert (r.packets, r.bytes, r.tcp_flags) == (1, 133, 0x18)
    assert r.first_ns == r.last_ns == (1680626679 - 15) * 10**9
    assert (r.where.offset, r.where.item) == (24, 0)  # the pcap record after the file header


def test_v9_uptime_relative_times_and_estimated_counts() -> None:
    """tshark: SysUptime 116860.52 s at 1684085372 s; flow 2 StartTime 116800.99, EndTime
    116801.01, 21000 octets, 14 packets, sampled 1 in 100 by the system-scope option."""
    got, _ = decode("netflow__data+templates")
    r = got[1]
    assert (r.source, r.vantage, r.src, r.sport, r.dst, r.dport) == (
        "netflow-v9",
        "102.102.144.1/17170432",
        "120.120.7.41",
        80,
        "120.120.15.78",
        35224,
    )
    assert (r.packets, r.bytes, r.sampling, r.counts) == (1400, 2_100_000, 100, Counts.ESTIMATED)
    assert (r.first_ns, r.last_ns) == (1684085312_470_000_000, 1684085312_490_000_000)


def test_ipfix_biflow_reverse_counts_and_ntp_microseconds() -> None:
    """tshark: flow 1 10.10.1.4:56166 -> 10.10.1.1:53 udp, 62/1 and reverse 128/1, Start
    Oct 5 2009 06:06:07.492059999 UTC, End 06:06:07.526084999."""
    got, _ = decode("netflow__ipfixprobe-templates", "netflow__ipfixprobe-data")
    r = got[0]
    assert (r.source, r.src, r.sport, r.dst, r.dport, r.proto) == (
        "ipfix",
        "10.10.1.4",
        56166,
        "10.10.1.1",
        53,
        17,
    )
    assert (r.packets, r.bytes, r.packets_rev, r.bytes_rev, r.bidirectional) == (
        1,
        62,
        1,
        128,
        True,
    )
    assert (r.first_ns, r.last_ns) == (1254722767_492059999, 1254722767_526084999)
    assert sum(x.bytes_rev for x in got) == 1_674 and sum(x.packets_rev for x in got) == 26


def test_ipv6_and_icmp_keys() -> None:
    """tshark: icmp flow 1 2001:db8:: -> 2001:db8::1 ICMPv6, 104 octets, DstPort 32768 (type
    128 code 0, which residency does not key as a port), Start 08:39:53.216 UTC 2023-06-04."""
    got, _ = decode("netflow__icmp-template", "netflow__icmp-data")
    r = got[0]
    assert (r.proto, r.src, r.dst, r.sport, r.dport, r.bytes) == (
        58,
        "2001:db8::",
        "2001:db8::1",
        0,
        0,
        104,
    )
    assert r.first_ns == 1685867993_216_000_000
    mpls, _ = decode("netflow__mpls")
    assert (mpls[0].src, mpls[0].dst, mpls[0].dport) == ("fd00::1:0:1:7:1", "fd00::1:0:1:5:1", 862)


def test_templates_are_kept_per_exporter() -> None:
    """The same data from another exporter address finds no template."""
    if not SAMPLES.exists():
        pytest.skip(f"needs the flow samples at {SAMPLES}")
    c = Collector()
    for name, exporter in (("template", "192.0.2.100"), ("data", "192.0.2.101")):
        with open_capture(str(SAMPLES / f"akvorado__netflow__{name}.pcap")) as source:
            for d in export_datagrams(source, PORTS):
                assert c.feed(d.payload, exporter, d.offset) == []
    assert c.stats.skipped["unknown_template"] == 1
