"""TLS ClientHello parser against tshark on real captures, byte at a time, and under hypothesis."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.wire.cursor import DecodeError
from agent.wire.tls import ClientHello, parse_client_hello, parse_handshake
from tests.truth import PCAPS, truth
from tests.wire.payloads import streams

CAPTURES = [
    "zeek_tls12-decryption.pcap",
    "scapy_tls_tcp_frag_withnss.pcap",
    "suri_tls-client-hello-frag-01__dump_mtu300.pcap",  # ClientHello over 3 segments
    "zeek_chrome-1250-tls-x25519-kyber.pcap",  # post-quantum key share: over 1 segment
    "zeek_openjdk-25.0.2-zeek.org.pcap",
    "suri_bug-1450-04__tls_DER-incomplete-header.pcap",  # no SNI
]


def client_stream(path: Path, hello: dict[str, Any]) -> bytes:
    key = (hello["src"], hello["sport"], hello["dst"], hello["dport"])
    return streams(path, hello["dport"])[key][1]


def as_truth(ch: ClientHello) -> dict[str, Any]:
    return {
        "sni": [] if ch.server_name is None else [ch.server_name],
        "legacy_version": f"0x{ch.legacy_version:04x}",
        "supported_versions": [f"0x{v:04x}" for v in ch.supported_versions],
    }


@pytest.mark.parametrize("name", CAPTURES)
def test_client_hellos_equal_tshark(pcaps: Path, name: str) -> None:
    path = pcaps / name
    t = truth(path)
    hellos = [h for h in t["tls_client_hellos"] if h["transport"] == "tcp"]
    assert hellos
    for hello in hellos:
        ch = parse_client_hello(client_stream(path, hello))
        assert ch is not None
        assert as_truth(ch) == {
            k: hello[k] for k in ("sni", "legacy_version", "supported_versions")
        }
        # Chrome sends a GREASE encrypted_client_hello: on the wire it is ECH all the same.
        assert ch.ech == (name == "zeek_chrome-1250-tls-x25519-kyber.pcap")
    assert sorted({n for h in hellos for n in h["sni"]}) == t["tls_sni"]


def test_alpn_and_trust(pcaps: Path) -> None:
    path = pcaps / "zeek_chrome-1250-tls-x25519-kyber.pcap"
    ch = parse_client_hello(client_stream(path, truth(path)["tls_client_hellos"][0]))
    assert ch is not None and ch.trusted_name
    assert ch.alpn == ("h2", "http/1.1")


def hello_streams() -> list[bytes]:
    if not PCAPS.is_dir():
        pytest.skip("no capture corpus")
    return _hello_streams()


@cache
def _hello_streams() -> list[bytes]:
    out = []
    for name in CAPTURES[1:4]:
        path = PCAPS / name
        out.append(client_stream(path, truth(path)["tls_client_hellos"][0]))
    return out


def records_end(stream: bytes) -> int:
    """Where the records holding the ClientHello end (its handshake length, over records)."""
    need = 4 + int.from_bytes(stream[6:9], "big")
    end = 0
    while need > 0:
        length = int.from_bytes(stream[end + 3 : end + 5], "big")
        end, need = end + 5 + length, need - length
    return end


def test_byte_at_a_time() -> None:
    """Every proper prefix of the ClientHello's records needs more; the full records answer."""
    for stream in hello_streams():
        end = records_end(stream)
        whole = parse_client_hello(stream)
        assert whole is not None and parse_client_hello(stream[:end]) == whole
        for n in range(end):
            assert parse_client_hello(stream[:n]) is None


def test_split_across_records_and_ech() -> None:
    stream = hello_streams()[0]
    record_len = int.from_bytes(stream[3:5], "big")
    message = stream[5 : 5 + record_len]
    base = parse_handshake(message)
    assert base is not None and base.server_name == "httpbin.org"
    # The same handshake message cut into 7-byte records.
    chopped = b"".join(
        b"\x16\x03\x01" + len(message[i : i + 7]).to_bytes(2, "big") + message[i : i + 7]
        for i in range(0, len(message), 7)
    )
    assert parse_client_hello(chopped) == base
    # Append an encrypted_client_hello extension (0xfe0d): the SNI is now only the outer name.
    body = bytearray(message[4:])
    ext = b"\xfe\x0d\x00\x04\x00\x00\x01\x00"
    ext_len_at = _extensions_length_offset(bytes(body))
    total = int.from_bytes(body[ext_len_at : ext_len_at + 2], "big") + len(ext)
    body[ext_len_at : ext_len_at + 2] = total.to_bytes(2, "big")
    body += ext  # the extensions run to the end of the body
    ech = parse_handshake(b"\x01" + len(body).to_bytes(3, "big") + bytes(body))
    assert ech is not None and ech.ech and ech.server_name == "httpbin.org"


def _extensions_length_offset(body: bytes) -> int:
    pos = 2 + 32
    pos += 1 + body[pos]
    pos += 2 + int.from_bytes(body[pos : pos + 2], "big")
    pos += 1 + body[pos]
    return pos


def test_not_tls_and_too_big() -> None:
    with pytest.raises(DecodeError, match="record type"):
        parse_client_hello(b"GET / HTTP/1.1\r\n")
    with pytest.raises(DecodeError, match="not TLS"):
        parse_client_hello(b"\x16\x07")
    with pytest.raises(DecodeError, match="64 KiB"):
        parse_client_hello(b"\x16\x03\x01\x00\x04\x01\x01\x00\x01")
    with pytest.raises(DecodeError, match="not a ClientHello"):
        parse_client_hello(b"\x16\x03\x01\x00\x04\x02\x00\x00\x00")
    assert parse_client_hello(b"") is None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_hellos_only_decode_or_fail_cleanly(data: st.DataObject) -> None:
    raw = bytearray(data.draw(st.sampled_from(hello_streams())))
    for _ in range(data.draw(st.integers(0, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    raw = raw[: data.draw(st.integers(0, len(raw)))]
    for parse in (parse_client_hello, parse_handshake):
        try:
            parse(bytes(raw[5:]) if parse is parse_handshake else bytes(raw))
        except DecodeError:
            pass
