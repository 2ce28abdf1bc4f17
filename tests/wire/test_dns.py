"""DNS parser against tshark's answers on real captures, byte at a time, and under hypothesis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.inet import UDP

from agent.wire.cursor import DecodeError, Truncated
from agent.wire.dns import AAAA, CNAME, A, DnsMessage, dns_over_tcp, parse_dns, valid_hostname
from tests.truth import truth
from tests.wire.payloads import segments, streams


def as_truth(frame: int, m: DnsMessage) -> dict[str, Any]:
    return {
        "frame": frame,
        "id": f"0x{m.id:04x}",
        "rcode": m.rcode,
        "queries": [q.name for q in m.questions],
        "answers": [
            {"name": r.name, "type": r.type, "ttl": r.ttl, "data": r.data} for r in m.answers
        ],
    }


def tshark_answers(t: dict[str, Any]) -> list[dict[str, Any]]:
    """tshark's Answers sections, in our terms.

    Differences, on purpose: names lower-cased (tshark keeps the case on the wire, e.g.
    `wac.946A.edgecastcdn.net`); data of types other than A/AAAA/CNAME (PTR, TXT) dropped, since
    only those bind names to addresses.
    """
    out = []
    for m in t["dns"]["answer_section_rrs"]:
        if m["quoted_in_icmp_error"]:
            continue  # inside an ICMP error quote: not a response that reached anyone
        answers = [
            {
                **a,
                "name": a["name"].lower(),
                "data": a["data"].lower() if a["type"] in (A, AAAA, CNAME) else None,
            }
            for a in m["answers"]
        ]
        out.append(
            {
                "frame": m["frame"],
                "id": m["id"],
                "rcode": m["rcode"],
                "queries": [q.lower() for q in m["queries"]],
                "answers": answers,
            }
        )
    return out


UDP_CAPTURES = [
    "cs_dns.pcap",
    "tcpdump_dns_udp.pcap",
    "suri_vxlan-decoder-03__vxlan.pcap",
    "zeek_ipv6-fragmented-dns.pcap",
    "cs_http_espn.pcapng",
    "dpkt_truncated_dns.pcap",
    "dpkt_truncated_dns_2.pcap",
    "zeek_pcapng-multi-interface.pcapng",
    "rpp_wireshark_samples-test.pcapng",
    "zeek_icmp-destunreach-udp.pcap",
]


@pytest.mark.parametrize("name", UDP_CAPTURES)
def test_udp_responses_equal_tshark(pcaps: Path, name: str) -> None:
    path = pcaps / name
    ours = []
    for number, seg, data in segments(path):
        if isinstance(seg, UDP) and {seg.sport, seg.dport} & {53, 5353, 5355}:
            m = parse_dns(data, partial=True)  # dpkt_truncated_dns*: cut after the answers
            if m.is_response:
                ours.append(as_truth(number, m))
    assert ours == tshark_answers(truth(path))


def test_tcp_responses_equal_tshark(pcaps: Path) -> None:
    path = pcaps / "tcpdump_dns_tcp.pcap"
    ours = []
    for (_, sport, _, _), (last_frame, stream) in streams(path, 53).items():
        messages, used = dns_over_tcp(stream)
        assert used == len(stream)
        ours += [as_truth(last_frame, m) for m in messages if m.is_response and sport == 53]
    assert ours == tshark_answers(truth(path))
    assert len(ours) == 1 and len(ours[0]["answers"]) == 2


def test_names_by_query_equal_tshark(pcaps: Path) -> None:
    """All sections (tshark's -e dns.a/aaaa/cname), merged per query name."""
    path = pcaps / "cs_dns.pcap"
    merged: dict[str, dict[str, list[str]]] = {}
    for _, _, data in segments(path):
        m = parse_dns(data)
        for q in m.questions[:1]:
            entry = merged.setdefault(q.name, {"a": [], "aaaa": [], "cname": []})
            for r in m.records():
                key = {A: "a", AAAA: "aaaa", CNAME: "cname"}.get(r.type)
                if key and r.data not in entry[key]:
                    entry[key].append(r.data or "")
    want = {
        k.lower(): {t: [x.lower() for x in v[t]] for t in v}
        for k, v in truth(path)["dns"]["by_query_name"].items()
    }
    assert merged == want
    assert all(r.trusted for r in parse_dns(segments(path)[2][2]).answers)


def tcp_stream(pcaps: Path) -> bytes:
    found = streams(pcaps / "tcpdump_dns_tcp.pcap", 53)
    return next(s for (_, sport, _, _), (_, s) in found.items() if sport == 53)


def test_tcp_byte_at_a_time(pcaps: Path) -> None:
    stream = tcp_stream(pcaps)
    whole, used = dns_over_tcp(stream)
    assert len(whole) == 1 and used == len(stream)
    for n in range(len(stream)):
        assert dns_over_tcp(stream[:n]) == ((), 0)
    # Two frames back to back, the second incomplete: the first comes out alone.
    assert dns_over_tcp(stream + stream[:-1]) == (whole, len(stream))


def test_every_prefix_of_a_udp_message_is_truncated(pcaps: Path) -> None:
    data = segments(pcaps / "tcpdump_dns_udp.pcap")[-1][2]
    assert parse_dns(data).answers
    for n in range(len(data)):
        with pytest.raises(Truncated):
            parse_dns(data[:n])


def header(qd: int = 1, an: int = 0) -> bytes:
    return b"\x12\x34\x81\x80" + qd.to_bytes(2, "big") + an.to_bytes(2, "big") + b"\0\0\0\0"


def test_pointer_loops_and_forward_pointers_are_refused() -> None:
    with pytest.raises(DecodeError, match="backwards"):
        parse_dns(header() + b"\xc0\x0c\x00\x01\x00\x01")  # points at itself
    with pytest.raises(DecodeError, match="backwards"):
        parse_dns(header() + b"\xc0\x0e\x00\x00\x01\x00\x01")  # points forwards
    # Two names pointing at each other.
    loop = header(qd=2) + b"\x01a\xc0\x12\x00\x01\x00\x01" + b"\x01b\xc0\x0c\x00\x01\x00\x01"
    with pytest.raises(DecodeError, match="backwards"):
        parse_dns(loop)


def test_compression_case_and_limits() -> None:
    msg = header(an=1) + b"\x03WWW\x07Example\x03com\x00\x00\x01\x00\x01"
    msg += b"\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x3c\x00\x06\x03cdn\xc0\x10"
    m = parse_dns(msg)
    assert m.questions[0].name == "www.example.com"
    assert m.answers[0].data == "cdn.example.com" and m.answers[0].ttl == 60
    with pytest.raises(DecodeError, match="label type"):
        parse_dns(header() + b"\x40" + b"\0" * 8)
    long_name = b"".join(b"\x3f" + b"a" * 63 for _ in range(4)) + b"\0"
    with pytest.raises(DecodeError, match="255"):
        parse_dns(header() + long_name + b"\x00\x01\x00\x01")
    with pytest.raises(DecodeError, match="A record with 3"):
        parse_dns(header(0, 1) + b"\0\x00\x01\x00\x01\0\0\0\0\x00\x03abc")
    with pytest.raises(DecodeError, match="unexpected bytes after CNAME"):
        parse_dns(header(0, 1) + b"\0\x00\x05\x00\x01\0\0\0\0\x00\x04\x01a\x00\x00")
    with pytest.raises(DecodeError, match="block too short"):
        parse_dns(header(0, 1) + b"\0\x00\x05\x00\x01\0\0\0\0\x00\x02\x01a\x00")


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("example.com", True),
        ("a-b.example.com.", True),
        ("_dmarc.example.com", True),
        ("xn--bcher-kva.example", True),
        ("", False),
        (".", False),
        ("-a.com", False),
        ("a-.com", False),
        ("a..com", False),
        ("a\\032b.com", False),
        ("a" * 64 + ".com", False),
        (".".join(["a" * 50] * 5), False),
        ("exa mple.com", False),
    ],
)
def test_valid_hostname(name: str, ok: bool) -> None:
    assert valid_hostname(name) is ok


def test_odd_bytes_are_escaped_and_untrusted() -> None:
    m = parse_dns(
        header(an=1)
        + b"\x03a.b\x00\x00\x01\x00\x01"
        + b"\xc0\x0c\x00\x01\x00\x01\0\0\0\x01\x00\x04\x01\x02\x03\x04"
    )
    assert m.questions[0].name == "a\\046b"
    assert m.answers[0].data == "1.2.3.4" and not m.answers[0].trusted


REAL: list[bytes] = []


def real_messages() -> list[bytes]:
    if not REAL:
        from tests.truth import PCAPS

        if not PCAPS.is_dir():
            pytest.skip("no capture corpus")
        REAL.extend(d for _, _, d in segments(PCAPS / "cs_dns.pcap"))
        REAL.append(tcp_stream(PCAPS))
    return REAL


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_messages_only_decode_or_fail_cleanly(data: st.DataObject) -> None:
    msgs = real_messages()
    raw = bytearray(data.draw(st.sampled_from(msgs)))
    for _ in range(data.draw(st.integers(0, 4))):
        i = data.draw(st.integers(0, max(0, len(raw) - 1)))
        if raw:
            raw[i] = data.draw(st.integers(0, 255))
    raw = raw[: data.draw(st.integers(0, len(raw)))]
    try:
        parse_dns(bytes(raw))
    except DecodeError:
        pass
    try:
        messages, used = dns_over_tcp(bytes(raw))
        assert 0 <= used <= len(raw)
    except DecodeError:
        pass
