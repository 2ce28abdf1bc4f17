"""HTTP/1.x request heads against tshark on real captures, byte at a time, and under hypothesis.
One reader (`http_host.read_head`, compiled) serves the parser and the picker's fast path: it
must answer the same whatever bytes lie outside its window, and only ever a head, need-more or
a DecodeError."""

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
    HEAD_BAD,
    HEAD_DONE,
    HEAD_MORE,
    MAX_HEADER,
    host_text,
    normalize_host,
    parse_http_host,
    parse_http_request,
)
from agent.wire.http_host import read_head
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
"""What the parser makes of a stream: ("request", host or None), ("refused", None) or ("more",
None)."""


def by_parser(raw: bytes) -> Seen:
    try:
        request = parse_http_request(raw)
    except DecodeError:
        return "refused", None
    return ("more", None) if request is None else ("request", request.host or None)


def in_junk(raw: bytes) -> Seen:
    """`read_head` on `raw` inside junk of two kinds, which must not change its answer (it reads
    nothing outside its window); -> the parser's view of `raw`, which rests on that answer."""
    answers = set()
    for fill in (0x00, 0xFF):
        buf = np.full(len(raw) + 14, fill, np.uint8)
        buf[7 : 7 + len(raw)] = np.frombuffer(raw, np.uint8)
        answers.add(read_head(buf, 7, 7 + len(raw)))
    [answer] = answers
    assert answer == read_head(np.frombuffer(raw, np.uint8), 0, len(raw))
    seen = by_parser(raw)
    if answer[0] == HEAD_DONE and answer[3] >= 0:
        value = raw[answer[4] : answer[5]]
        try:
            assert seen == ("request", normalize_host(host_text(value)) or None)
        except DecodeError:
            assert seen == ("refused", None)  # the Host value itself is refused
    return seen


def test_whole_heads_are_read_and_their_prefixes_wait() -> None:
    for stream in requests():
        assert in_junk(stream)[0] == "request"
        whole = parse_http_request(stream)
        assert whole is not None
        for n in range(whole.header_length):
            assert read_head(np.frombuffer(stream[:n], np.uint8), 0, n)[0] == HEAD_MORE


def test_a_window_past_its_buffer_is_refused() -> None:
    buf = np.frombuffer(b"GET / HTTP/1.1\r\n\r\n", np.uint8)
    assert read_head(buf, 0, len(buf))[:2] == (HEAD_DONE, len(buf))
    assert read_head(buf, 0, len(buf) + 1)[0] == HEAD_BAD
    assert read_head(buf, -1, 4)[0] == HEAD_BAD


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_requests_in_junk(data: st.DataObject) -> None:
    raw = bytearray(data.draw(st.sampled_from(requests())))
    for _ in range(data.draw(st.integers(0, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    event(in_junk(bytes(raw[: data.draw(st.integers(0, len(raw)))]))[0])


def pick(data: st.DataObject, usual: bytes, *odd: bytes) -> bytes:
    return data.draw(st.sampled_from([usual] * 6 * len(odd) + list(odd)))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_built_requests(data: st.DataObject) -> None:
    """Heads built from usual and odd parts: a head is read exactly when every part is usual."""
    parts = [pick(data, b"GET", b"", b"G\x00T", b"M" * 32, b"M" * 33, b"\xc3\xa9")]
    parts += [pick(data, b" ", b"  ", b"\t"), pick(data, b"/a?b", b"", b"/\xff", b"/\x0b")]
    parts.append(pick(data, b" HTTP/1.1", b" HTTP/1.0", b" HTTP/2.0", b" http/1.1", b"HTTP/1.1"))
    values = st.sampled_from(
        [b" a.example", b"A.example:80", b"[2001:db8::1]:443", b"[::1", b" ", b"", b"\xe9.ex"]
    )
    for n in range(data.draw(st.integers(0, 3))):
        parts.append(pick(data, b"\r\n", b"\n", b"\r"))
        parts.append(
            pick(data, b"X-A" if n else b"Host", b"hOST", b"Bad Name", b"", b"Ho:st", b"H\x00st")
        )
        parts.append(pick(data, b":", b"") + data.draw(values))
    parts.append(pick(data, b"\r\n\r\n", b"\r\n", b"\n\n", b"\r\n\r"))
    head = b"".join(parts)
    seen = in_junk(head + data.draw(st.binary(max_size=4)))
    event(seen[0])
    usual = {b"GET", b" ", b"/a?b", b" HTTP/1.1", b" HTTP/1.0", b"\r\n", b"\r\n\r\n"}
    usual |= {b"Host", b"X-A"}
    if all(p in usual or p.startswith(b":") for p in parts) and b"\r\n\r\n" in head:
        assert seen[0] in ("request", "refused")  # refused: only by its Host value
