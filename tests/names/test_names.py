"""Names on flows, end to end, against tshark: every server name (TLS and QUIC ClientHello) and
HTTP Host in the shared captures, on the flow that carried it; DNS answers on later flows."""

from __future__ import annotations

import ipaddress
import json
from collections import Counter
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from agent.capture import open_capture
from agent.chain.pipeline import FlowPipeline, flows_from
from agent.cli import main
from agent.model import Flow
from agent.names.dns import ANSWER_CACHE, bound
from agent.names.pick import PickState
from agent.wire.cursor import DecodeError
from agent.wire.dns import parse_dns
from tests.support import SEC, batch_of
from tests.truth import PCAPS, analyze, truth

CAPTURES = sorted(
    p.name[: -len(".truth.json")] for p in (PCAPS.glob("*.truth.json") if PCAPS.is_dir() else [])
)


def host(text: str) -> str:
    """tshark keeps a Host header as sent; residency lower-cases it and drops the port."""
    text = text.lower()
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


def endpoints(flow: Flow) -> frozenset[tuple[str, int]]:
    return frozenset({(flow.src, flow.sport), (flow.dst, flow.dport)})


def tshark_names(t: dict[str, Any]) -> set[tuple[frozenset[tuple[str, int]], str, str]]:
    """(flow endpoints, source, name) for each ClientHello and the first request of each flow."""
    out = set()
    for hello in t["tls_client_hellos"]:
        if hello["quoted_in_icmp_error"] or not hello["sni"]:
            continue
        source = "quic" if hello["transport"] == "quic" else "sni"
        ends = frozenset({(hello["src"], hello["sport"]), (hello["dst"], hello["dport"])})
        out.add((ends, source, hello["sni"][0].lower()))
    seen = set()
    for req in sorted(t["http_requests"], key=lambda r: r["frame"]):
        ends = frozenset({(req["src"], req["sport"]), (req["dst"], req["dport"])})
        if req["host"] and ends not in seen and not req["quoted_in_icmp_error"]:
            out.add((ends, "http", host(req["host"])))
        seen.add(ends)
    return out


def our_names(flows: list[Flow]) -> set[Any]:
    return {(endpoints(f), s, n) for f in flows for s, n in f.names if s != "dns"}


SSDP = "239.255.255.250"
CHROME = frozenset({("0.0.51.217", 13783), ("142.250.200.14", 443)})
# capture -> (only residency, only tshark), with the reason.
EXPECTED: dict[str, tuple[set[Any], set[Any]]] = {
    # SSDP is HTTP over UDP multicast, which tshark reads as HTTP (without ports in its rows);
    # residency reads HTTP on TCP only: SSDP names no destination, and its Host is an address.
    "rpp_wireshark_samples-test.pcapng": (
        set(),
        {
            (frozenset({(src, None), (SSDP, None)}), "http", SSDP)
            for src in ("192.168.152.3", "169.254.8.219", "192.168.152.153", "192.168.152.15")
        },
    ),  # fmt: skip
    # Chrome sends an encrypted_client_hello extension (a GREASE one here, which the wire cannot
    # tell from real ECH), so residency marks its SNI as the outer name: weaker evidence.
    "zeek_chrome-1250-tls-x25519-kyber.pcap": (
        {(CHROME, "sni-ech", "lh3.google.com")},
        {(CHROME, "sni", "lh3.google.com")},
    ),
}


@pytest.mark.parametrize("name", CAPTURES)
def test_names_on_flows_equal_tshark(pcaps: Path, name: str) -> None:
    t = truth(pcaps / name)
    flows, _stats, _err = analyze(pcaps / name)
    ours, theirs = our_names(flows), tshark_names(t)
    assert (ours - theirs, theirs - ours) == EXPECTED.get(name, (set(), set()))


def test_dns_answers_name_the_flows_that_follow(pcaps: Path) -> None:
    """cs_http_espn: every web flow to an address a DNS answer gave carries that answer's names,
    and each of those names resolves to that address in tshark's view."""
    t = truth(pcaps / "cs_http_espn.pcapng")
    resolved: dict[str, set[str]] = {}
    for qname, rr in t["dns"]["by_query_name"].items():
        for address in rr.get("a", []) + rr.get("aaaa", []):
            resolved.setdefault(address, set()).add(qname.lower())
            resolved[address].update(c.lower() for c in rr.get("cname", []))
    flows, _stats, _err = analyze(pcaps / "cs_http_espn.pcapng")
    web = [f for f in flows if f.dport == 80]
    named = [f for f in web if any(s == "dns" for s, _ in f.names)]
    assert len(named) >= len([f for f in web if f.dst in resolved]) - 2
    for f in named:
        assert {n for s, n in f.names if s == "dns"} <= resolved[f.dst], f


def test_names_in_json(pcaps: Path) -> None:
    flows, _stats, _err = analyze(pcaps / "zeek_tls12-decryption.pcap")
    [flow] = flows
    assert flow.as_dict()["names"] == [{"source": "sni", "name": "heise.de"}]
    assert json.loads(json.dumps(flow.as_dict()))["names"][0]["name"] == "heise.de"


DNS_CAPTURES = [
    c for c in CAPTURES if PCAPS.is_dir() and truth(PCAPS / c)["dns"]["answer_section_rrs"]
]


@pytest.mark.parametrize("name", DNS_CAPTURES)
def test_dns_bindings_equal_tshark_answers(pcaps: Path, name: str) -> None:
    """The A/AAAA answers tshark shows, and no others, give the bindings (TCP answers too)."""
    pipe = FlowPipeline()
    with open_capture(str(pcaps / name)) as source:
        for _ in flows_from(source, pipe):
            pass
    want = {
        (str(ipaddress.ip_address(rr["data"])), rr["name"].lower())
        for response in truth(pcaps / name)["dns"]["answer_section_rrs"]
        if not response["quoted_in_icmp_error"]
        for rr in response["answers"]
        if rr["type"] in (1, 28)
    }
    got = {(a, n) for a, seen in pipe.names.bindings.items() for _, names in seen for n in names}
    # Each address tshark saw answered is bound, to its owner name and to the names that lead
    # to it through CNAMEs (which tshark lists as separate rows, not bindings).
    assert want <= got
    assert {a for a, _ in got} == {a for a, _ in want}


def test_names_command_lists_bindings(pcaps: Path) -> None:
    run = CliRunner().invoke(main, ["names", "--json", str(pcaps / "cs_http_espn.pcapng")])
    assert run.exit_code == 0, run.output
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert {"capture", "first", "source", "name", "address"} <= set(rows[0])
    by_source = {r["source"] for r in rows}
    assert by_source == {"dns", "http"}
    hosts = {host(h) for h in truth(pcaps / "cs_http_espn.pcapng")["http_hosts"]}
    assert {r["name"] for r in rows if r["source"] == "http"} == hosts
    assert [r["first"] for r in rows] == sorted(r["first"] for r in rows)


def test_names_can_be_left_out(pcaps: Path) -> None:
    run = CliRunner().invoke(main, ["flows", "--json", "--no-names", str(pcaps / "zeek_get.pcap")])
    assert run.exit_code == 0 and json.loads(run.stdout)["names"] == []


def test_state_of_ended_flows_is_let_go(pcaps: Path) -> None:
    pipe = FlowPipeline()
    with open_capture(str(pcaps / "tcpdump_dns_tcp.pcap")) as source:
        ended = [f for batch in flows_from(source, pipe) for f in batch.records()]
    finder = pipe.names
    assert ended and finder is not None
    assert not finder.names and not finder._tcp and not finder._dns.holds_streams
    assert finder.bindings  # what DNS said stays, for the flows still to come


def frames_of(path: Path) -> list[tuple[float, bytes]]:
    frames = []
    with open_capture(str(path)) as source:
        for b in source.batches():
            for off, cap, ts in zip(b.offset.tolist(), b.caplen.tolist(), b.ts_ns.tolist(),
                                    strict=True):  # fmt: skip
                frames.append((ts / 1e9, bytes(b.data[off : off + cap])))
    return frames


def test_client_hello_segments_in_any_order(pcaps: Path) -> None:
    """The ClientHello's three segments (frames 4-6, after the handshake) delivered last-first:
    the SYN fixed where the stream starts, so the name is still found."""
    frames = frames_of(pcaps / "suri_tls-client-hello-frag-01__dump_mtu300.pcap")
    reordered = frames[:3] + frames[3:6][::-1] + frames[6:]
    pipe = FlowPipeline()
    flows = [*pipe.feed(batch_of(reordered)).records(), *pipe.finish().records()]
    assert [n for f in flows for n in f.names] == [("sni", "www.google.com")]


def response(*answers: tuple[str, int, str]) -> bytes:
    """A DNS response (query id 0) with (owner, type, data) answers: A, AAAA or CNAME."""
    rrs = [DNSRR(rrname=n, type=t, rdata=d) for n, t, d in answers]
    return bytes(DNS(id=0, qr=1, qd=DNSQR(qname=answers[0][0]), an=rrs))


ANSWERS = [
    response(("a.example", 1, "192.0.2.1")),
    response(("b.example", 1, "192.0.2.1")),  # the same address, another name
    response(("c.example", 5, "d.example"), ("d.example", 28, "2001:db8::3")),
    response(("x.example", 1, "192.0.2.4"), ("y.example", 1, "192.0.2.4")),  # bound twice
    response(("bad name!", 1, "192.0.2.5"), ("e.example", 1, "192.0.2.6")),  # one untrusted
    b"\x00\x00\x81\x80\x00\x00\x00\x01\x00\x00\x00\x00\xc0\x20",  # a pointer forwards
]


def reference(messages: list[tuple[int, bytes]], cache_size: int) -> tuple[Any, Counter[str]]:
    """What DNS over UDP binds, read the plain way: every response looked up in a cache of
    `cache_size` answers (oldest out first) and bound in order."""
    cache: dict[bytes, Any] = {}
    bindings: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
    untrusted: Counter[str] = Counter()
    for ts, message in messages:
        if message[2:] not in cache:
            try:
                cache[message[2:]] = bound(parse_dns(message, partial=True), untrusted)
            except DecodeError:
                cache[message[2:]], untrusted["dns_malformed"] = [], untrusted["dns_malformed"] + 1
            if len(cache) > cache_size:
                del cache[next(iter(cache))]
        for address, names in cache[message[2:]]:
            seen = bindings.setdefault(address, [])
            if not seen or seen[-1][1] != names:
                seen.append((ts, names))
    return bindings, untrusted


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.integers(0, len(ANSWERS) - 1), st.integers(0, 3)), max_size=40),
    st.integers(1, 12),
    st.sampled_from([1, 2, 3, ANSWER_CACHE]),
)
def test_repeated_answers_bind_as_read_one_by_one(
    picks: list[tuple[int, int]], per_batch: int, cache_size: int
) -> None:
    """Repeats skipped in compiled code change nothing: the bindings and the untrusted counts
    are those of reading every response in turn, whatever the batches and the cache size."""
    messages = [(SEC * (i + 1), ident.to_bytes(2, "big") + ANSWERS[k][2:])
                for i, (k, ident) in enumerate(picks)]  # fmt: skip
    frames = [
        (ts / SEC, Ether() / IP(src="192.0.2.53", dst="10.0.0.1") / UDP(sport=53, dport=5353)
         / Raw(m))
        for ts, m in messages
    ]  # fmt: skip
    with patch("agent.names.dns.ANSWER_CACHE", cache_size):  # the index is then small too
        pipe = FlowPipeline()
        for start in range(0, len(frames), per_batch):
            pipe.feed(batch_of(frames[start : start + per_batch]))
    assert pipe.names is not None
    bindings, untrusted = reference(messages, cache_size)
    assert pipe.names.bindings == bindings
    assert +pipe.names.untrusted == untrusted


@pytest.mark.parametrize(
    "name",
    ["cs_http_espn.pcapng", "suri_tls-client-hello-frag-01__dump_mtu300.pcap",
     "scapy_tls_tcp_frag_withnss.pcap", "zeek_chrome-1250-tls-x25519-kyber.pcap"],
)  # fmt: skip
@pytest.mark.parametrize("window", [1, 3])
def test_stream_starts_handed_to_python_change_no_name(pcaps: Path, name: str, window: int) -> None:
    """With a ring of two stream starts, most flows waiting for their first bytes are handed
    to Python when a later SYN takes their slot: the names are those of the default ring, with
    the frames in order or reversed in threes."""
    frames = frames_of(pcaps / name)
    frames = [f for i in range(0, len(frames), window) for f in frames[i : i + window][::-1]]
    found = []
    for state in (PickState(), PickState(syn_slots=2)):
        pipe = FlowPipeline()
        assert pipe.names is not None
        pipe.names._pick = state
        flows = [*pipe.feed(batch_of(frames)).records(), *pipe.finish().records()]
        found.append([(f.serial, f.names) for f in flows])
    assert found[0] == found[1]
    assert any(names for _, names in found[0])
