"""The one TLS ClientHello reader (compiled: `tls_hello`) against tshark on real captures, byte at
a time, and under hypothesis; read in place from one record by the name picker
(`pick.first_name`) as through its Python face, which copies a hello over several records."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from agent.names.codes import COPIED, SNI_ECH
from agent.names.pick import first_name
from agent.wire.cursor import DecodeError
from agent.wire.numbers import FOUND, UNSURE
from agent.wire.tls import (
    MAX_CLIENT_HELLO,
    ClientHello,
    ascii_text,
    parse_client_hello,
    parse_handshake,
)
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
    # The picker leaves a hello over records to Python, which reads it from its copy.
    assert compiled(chopped)[0] == UNSURE
    scratch = np.empty(MAX_CLIENT_HELLO + 4, np.uint8)
    found, at, size, source = first_name(np.frombuffer(chopped, np.uint8), 0, len(chopped),
                                         scratch)  # fmt: skip
    assert found == FOUND and source & COPIED
    assert scratch[at : at + size].tobytes() == b"httpbin.org"
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


NO_ROOM = np.empty(0, np.uint8)


def compiled(raw: bytes, room: int = 0) -> tuple[int, str | None, bool]:
    """`first_name` on `raw` inside junk of two kinds, which must not change the answer; by
    default with no room to copy, as the picker reads a segment."""
    answers = set()
    scratch = np.empty(room, np.uint8)
    for fill in (0x00, 0xFF):
        buf = np.full(len(raw) + 14, fill, np.uint8)
        buf[7 : 7 + len(raw)] = np.frombuffer(raw, np.uint8)
        found, at, size, source = first_name(buf, 7, 7 + len(raw), scratch)
        where = scratch if source & COPIED else buf
        name = ascii_text(where[at : at + size].tobytes()) if size else None
        answers.add((int(found), name, source & ~COPIED == SNI_ECH))
    [answer] = answers
    return answer


def whole_in_first_record(raw: bytes) -> bool:
    return len(raw) >= 9 and int.from_bytes(raw[3:5], "big") >= 4 + int.from_bytes(raw[6:9], "big")


def agree(raw: bytes) -> tuple[int, str | None, bool]:
    """The picker (in place, no room) and Python's copy say the same; the picker leaves only a
    hello that is not whole in its first record to Python."""
    said = parsed(raw)
    assert compiled(raw, MAX_CLIENT_HELLO + 4) == said
    answer = compiled(raw)
    assert answer == said or (answer[0] == UNSURE and not whole_in_first_record(raw))
    return answer


def test_compiled_reads_whole_hellos_as_the_parser_does() -> None:
    """A ClientHello whole in its first record is read in place; any prefix of it needs more."""
    for stream in hello_streams():
        hello = parse_client_hello(stream)
        assert hello is not None
        assert compiled(stream) == (FOUND, hello.server_name, hello.ech)
        end = records_end(stream)
        assert all(compiled(stream[:n])[0] == UNSURE for n in range(end))


def parsed(raw: bytes) -> tuple[int, str | None, bool]:
    """What the Python face says, as `first_name` says it."""
    try:
        hello = parse_client_hello(raw)
    except DecodeError:
        return FOUND, None, False
    if hello is None:
        return UNSURE, None, False
    return FOUND, hello.server_name, hello.ech


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_in_place_and_through_python_agree(data: st.DataObject) -> None:
    raw = bytearray(data.draw(st.sampled_from(hello_streams())))
    for _ in range(data.draw(st.integers(0, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    raw = raw[: data.draw(st.integers(0, len(raw)))]
    agree(bytes(raw))


KINDS = [0x0000] * 3 + [0x0010, 0x002B, 0xFE0D, 0x0005, 0x0033]


def lied(data: st.DataObject, n: int, size: int) -> bytes:
    """Length `n` as `size` bytes, now and then off by a little."""
    n += data.draw(st.sampled_from([0] * 40 + [-2, -1, 1, 2]))
    return max(0, min(n, (1 << 8 * size) - 1)).to_bytes(size, "big")


def vec(data: st.DataObject, body: bytes, size: int) -> bytes:
    return lied(data, len(body), size) + body


def extension(data: st.DataObject, kind: int) -> bytes:
    if kind == 0x0000:  # server_name: host_name entries and others
        entries = st.tuples(
            st.sampled_from([0, 0, 1]), st.sampled_from([b"a.example"] * 4 + [b"", b"A\xff"])
        )
        names = data.draw(st.lists(entries, min_size=1, max_size=3))
        body = vec(data, b"".join(bytes([k]) + vec(data, n, 2) for k, n in names), 2)
    elif kind == 0x0010:  # ALPN
        protocols = data.draw(st.lists(st.binary(max_size=5), max_size=3))
        body = vec(data, b"".join(vec(data, p, 1) for p in protocols), 2)
    elif kind == 0x002B:  # supported_versions, now and then with an odd byte
        versions = b"\x03\x04" * data.draw(st.integers(0, 3))
        body = vec(data, versions + data.draw(st.sampled_from([b""] * 5 + [b"\x03"])), 1)
    else:
        body = data.draw(st.binary(max_size=6))
    return kind.to_bytes(2, "big") + vec(data, body, 2)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_compiled_reads_one_record_hellos_exactly_as_the_parser(data: st.DataObject) -> None:
    """Built ClientHellos in one record, their lengths now and then lying: read in place by the
    picker as through the Python face (a hello, or a refusal that decides the flow)."""
    body = data.draw(st.sampled_from([b"\x03\x03"] * 8 + [b"\x03\x01", b"\x02\x00"])) + bytes(32)
    body += vec(data, data.draw(st.binary(max_size=33)), 1)  # session_id
    body += vec(
        data, data.draw(st.sampled_from([b"\x13\x01"] * 8 + [b"\x13\x01\x13\x02", b"\x13"])), 2
    )
    body += vec(data, b"\x00", 1)  # compression methods
    if data.draw(st.sampled_from([True] * 4 + [False])):  # TLS 1.0 may have no extensions
        kinds = data.draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=5, unique=True))
        kinds += data.draw(st.sampled_from([[]] * 20 + [kinds[:1]]))  # now and then twice
        body += vec(data, b"".join(extension(data, kind) for kind in kinds), 2)
    handshake = b"\x01" + vec(data, body, 3)
    raw = b"\x16\x03\x01" + vec(data, handshake, 2) + data.draw(st.binary(max_size=3))
    answer = agree(raw)
    event(f"found={answer[0] == FOUND} name={answer[1] is not None}")
