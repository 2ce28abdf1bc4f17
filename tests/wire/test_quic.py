"""QUIC Initial decryption against the RFC 9001/9369 vectors and tshark's QUIC SNI."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.inet import UDP

from agent.wire.cursor import DecodeError
from agent.wire.quic import V1, V2, CryptoAssembler, _decryptor, client_initial_keys, parse_initial
from tests.truth import PCAPS, truth
from tests.wire.payloads import segments

CAPTURES = [
    "tcpdump_quic_handshake.pcap",
    "zeek_chromium-115.0.5790.110-api-cirrus-com.pcap",
    "zeek_firefox-102.13.0esr-blog-cloudflare-com.pcap",
    "zeek_quic-multiple-initial-fragmented-crypto.pcap",  # CRYPTO split over several Initials
]
DCID = bytes.fromhex("8394c8f03e515708")


def test_rfc9001_appendix_a_client_keys_and_mask() -> None:
    keys = client_initial_keys(DCID, V1)
    assert keys.key.hex() == "1f369613dd76d5467730efcbe3b1a22d"
    assert keys.iv.hex() == "fa044b2f42a3fd3b46fb255c"
    assert keys.hp.hex() == "9f50449e04a0e810283a1e9933adedd2"
    mask = _decryptor(DCID, V1).hp.update(bytes.fromhex("d1b1c98dd7689fb8ec11d242b123dc9b"))
    assert mask[:5].hex() == "437b9aec36"


def test_rfc9369_appendix_a_client_keys() -> None:
    keys = client_initial_keys(DCID, V2)
    assert keys.key.hex() == "8b1a0bc121284290a29e0971b5cd045d"
    assert keys.iv.hex() == "91f73e2351d8fa91660e909f"
    assert keys.hp.hex() == "45b95e15235d6f45a6b19cbcb0294ba9"


def client_datagrams(path: Path) -> list[bytes]:
    return [d for _, seg, d in segments(path) if isinstance(seg, UDP) and seg.dport == 443]


def hellos(path: Path) -> dict[bytes, CryptoAssembler]:
    """Client Initials by Destination CID, their CRYPTO frames assembled."""
    conns: dict[bytes, CryptoAssembler] = {}
    for datagram in client_datagrams(path):
        try:
            packet = parse_initial(datagram)
        except DecodeError:
            continue  # Handshake / 1-RTT packets, which Initial keys cannot open
        conn = conns.setdefault(packet.dcid, CryptoAssembler())
        for offset, data in packet.crypto:
            conn.add(offset, data)
    return conns


@pytest.mark.parametrize("name", CAPTURES)
def test_quic_sni_equals_tshark(pcaps: Path, name: str) -> None:
    t = truth(pcaps / name)
    found = [c.client_hello() for c in hellos(pcaps / name).values()]
    got = [h for h in found if h is not None]
    want = [h for h in t["tls_client_hellos"] if h["transport"] == "quic"]
    assert [([h.server_name], [f"0x{v:04x}" for v in h.supported_versions]) for h in got] == [
        (h["sni"], h["supported_versions"]) for h in want
    ]
    assert sorted({h.server_name for h in got}) == t["quic_sni"]


def test_fragments_in_any_order_and_bounded(pcaps: Path) -> None:
    path = pcaps / "zeek_quic-multiple-initial-fragmented-crypto.pcap"
    pieces = [f for d in client_datagrams(path)[:6] for f in _crypto(d)]
    assert len(pieces) > 1
    forward, backward = CryptoAssembler(), CryptoAssembler()
    for offset, data in pieces:
        forward.add(offset, data)
    for offset, data in reversed(pieces):
        backward.add(offset, data)
        if (offset, data) != pieces[0]:
            assert backward.client_hello() is None  # offset 0 is missing so far
    assert forward.client_hello() == backward.client_hello() is not None
    with pytest.raises(DecodeError, match="beyond"):
        CryptoAssembler().add(70_000, b"x")


def _crypto(datagram: bytes) -> tuple[tuple[int, bytes], ...]:
    try:
        return parse_initial(datagram).crypto
    except DecodeError:
        return ()


@cache
def _initials() -> list[bytes]:
    return [client_datagrams(PCAPS / name)[0] for name in CAPTURES]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_initials_only_decode_or_fail_cleanly(data: st.DataObject) -> None:
    if not PCAPS.is_dir():
        pytest.skip("no capture corpus")
    raw = bytearray(data.draw(st.sampled_from(_initials())))
    for _ in range(data.draw(st.integers(0, 3))):
        raw[data.draw(st.integers(0, 60))] = data.draw(st.integers(0, 255))
    raw = raw[: data.draw(st.integers(0, len(raw)))]
    try:
        parse_initial(bytes(raw))
    except DecodeError:
        pass
