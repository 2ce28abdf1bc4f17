"""HTTP/1.x Host parser against tshark on real captures, byte at a time, and under hypothesis;
its compiled fast path (`http_host.host_span`) against the parser."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from agent.wire.cursor import DecodeError
from agent.wire.http import (
    MAX_HEADER,
    host_text,
    normalize_host,
    parse_http_host,
    parse_http_request,
)
from agent.wire.http_host import host_span
from agent.wire.numbers import UNSURE
from tests.truth import PCAPS, truth
from tests.wire.payloads import streams

CAPTURES = [
    "cs_http_espn.pcapng",
    "zeek_get.pcap",
    "zeek_basic-auth-with-colon.pcap",
    "zeek_http-qinq-0.pcap",
]


def first_requests(path: Path) -> list[tuple[dict[str, Any], bytes]]:
    """tshark's first request of each connection, with our client stream of that connection.

    We read only the head of a stream (later keep-alive requests are the flow layer's job).
    """
    t = truth(path)
    seen: set[tuple[Any, ...]] = set()
    by_port: dict[int, dict[tuple[Any, ...], tuple[int, bytes]]] = {}
    out = []
    for req in t["http_requests"]:
        key = (req["src"], req["sport"], req["dst"], req["dport"])
        if key in seen:
            continue
        seen.add(key)
        if req["dport"] not in by_port:
            by_port[req["dport"]] = streams(path, req["dport"])
        out.append((req, by_port[req["dport"]][key][1]))
    return out


@pytest.mark.parametrize("name", CAPTURES)
def test_first_request_hosts_equal_tshark(pcaps: Path, name: str) -> None:
    """tshark keeps the port in http.host (`172.24.133.205:8000`); we strip it on purpose."""
    pairs = first_requests(pcaps / name)
    assert pairs
    for req, stream in pairs:
        got = parse_http_request(stream)
        assert got is not None
        want = req["host"].lower().rsplit(":", 1)[0] if ":" in req["host"] else req["host"]
        assert (got.method, got.target, got.version, got.host) == (
            req["method"],
            req["uri"],
            req["version"],
            want.lower(),
        )
    hosts = {normalize_host(h) for h in truth(pcaps / name)["http_hosts"]}
    assert {parse_http_host(s) for _, s in pairs} == hosts


@cache
def _requests() -> list[bytes]:
    return [s for name in CAPTURES[1:] for _, s in first_requests(PCAPS / name)]


def requests() -> list[bytes]:
    if not PCAPS.is_dir():
        pytest.skip("no capture corpus")
    return _requests()


def test_byte_at_a_time() -> None:
    for stream in requests():
        whole = parse_http_request(stream)
        assert whole is not None
        for n in range(whole.header_length):
            assert parse_http_request(stream[:n]) is None
        assert parse_http_request(stream[: whole.header_length]) == whole


@pytest.mark.parametrize(
    ("value", "host"),
    [
        ("Example.COM", "example.com"),
        ("example.com:8080", "example.com"),
        ("[2001:DB8::1]:80", "2001:db8::1"),
        ("[::1]", "::1"),
        ("10.0.0.1:", "10.0.0.1"),
        ("", ""),
    ],
)
def test_normalize_host(value: str, host: str) -> None:
    assert normalize_host(value) == host


def test_refusals() -> None:
    for junk in (b"\x16\x03\x01", b"SSH-2.0-OpenSSH\r\n", b"GET /\r\n\r\n", b" GET"):
        with pytest.raises(DecodeError):
            parse_http_request(junk)
    with pytest.raises(DecodeError, match="more than one Host"):
        parse_http_request(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
    with pytest.raises(DecodeError, match="IPv6"):
        parse_http_request(b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n")
    with pytest.raises(DecodeError, match="header block"):
        parse_http_request(b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * (MAX_HEADER // 6))
    assert parse_http_request(b"GET / HTTP/1.1\r\nX: y\r\n" * 2) is None
    no_host = parse_http_request(b"GET / HTTP/1.0\r\nAccept: */*\r\n\r\n")
    assert no_host is not None and no_host.host is None and not no_host.trusted_host
    assert parse_http_host(b"GET / HTTP/1.0\r\n\r\n") == ""
    assert parse_http_host(b"GET / HTTP/1.1\r\nhOST: [fe80::1]:8080\r\n\r\n") == "fe80::1"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_requests_only_decode_or_fail_cleanly(data: st.DataObject) -> None:
    raw = bytearray(data.draw(st.sampled_from(requests())))
    for _ in range(data.draw(st.integers(0, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    raw = raw[: data.draw(st.integers(0, len(raw)))]
    try:
        parse_http_host(bytes(raw))
    except DecodeError:
        pass


Seen = tuple[str, str | None]
"""What a reader makes of a stream: ("request", host or None), ("refused", None) or ("more",
None); for the compiled reader, "unsure" in place of both of the last two."""


def by_parser(raw: bytes) -> Seen:
    try:
        request = parse_http_request(raw)
    except DecodeError:
        return "refused", None
    return ("more", None) if request is None else ("request", request.host or None)


def compiled(raw: bytes) -> Seen:
    """`host_span` on `raw` inside junk of two kinds, which must not change the answer; the
    Host value then goes through the parser's own steps."""
    answers = set()
    for fill in (0x00, 0xFF):
        buf = np.full(len(raw) + 14, fill, np.uint8)
        buf[7 : 7 + len(raw)] = np.frombuffer(raw, np.uint8)
        found, at, size = host_span(buf, 7, 7 + len(raw))
        answers.add((int(found), buf[at : at + size].tobytes() if size else None))
    [(found, value)] = answers
    if found == UNSURE:
        return "unsure", None
    try:
        return "request", normalize_host(host_text(value)) or None if value else None
    except DecodeError:
        return "refused", None


def agree(raw: bytes) -> Seen:
    """The compiled reader is sure exactly when the parser reads a whole head, and then finds
    the same host (or the same refusal of it)."""
    parser, fast = by_parser(raw), compiled(raw)
    assert fast == parser or (fast[0] == "unsure" and parser[0] in ("refused", "more"))
    return fast


def test_compiled_reads_whole_heads_as_the_parser_does() -> None:
    for stream in requests():
        assert agree(stream)[0] == "request"
        whole = parse_http_request(stream)
        assert whole is not None
        for n in range(whole.header_length):
            assert compiled(stream[:n]) == ("unsure", None)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_compiled_on_mutated_requests(data: st.DataObject) -> None:
    raw = bytearray(data.draw(st.sampled_from(requests())))
    for _ in range(data.draw(st.integers(0, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    agree(bytes(raw[: data.draw(st.integers(0, len(raw)))]))


def pick(data: st.DataObject, usual: bytes, *odd: bytes) -> bytes:
    return data.draw(st.sampled_from([usual] * 6 * len(odd) + list(odd)))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_compiled_on_built_requests(data: st.DataObject) -> None:
    head = pick(data, b"GET", b"", b"G\x00T", b"M" * 32, b"M" * 33, b"\xc3\xa9")
    head += pick(data, b" ", b"  ", b"\t") + pick(data, b"/a?b", b"", b"/\xff", b"/\x0b")
    head += pick(data, b" HTTP/1.1", b" HTTP/1.0", b" HTTP/2.0", b" http/1.1", b"HTTP/1.1")
    values = st.sampled_from(
        [b" a.example", b"A.example:80", b"[2001:db8::1]:443", b"[::1", b" ", b"", b"\xe9.ex"]
    )
    for n in range(data.draw(st.integers(0, 3))):
        head += pick(data, b"\r\n", b"\n", b"\r")
        head += pick(
            data, b"X-A" if n else b"Host", b"hOST", b"Bad Name", b"", b"Ho:st", b"H\x00st"
        )
        head += pick(data, b":", b"") + data.draw(values)
    end = pick(data, b"\r\n\r\n", b"\r\n", b"\n\n", b"\r\n\r")
    event(agree(head + end + data.draw(st.binary(max_size=4)))[0])
