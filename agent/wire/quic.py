"""QUIC v1 (RFC 9001) and v2 (RFC 9369) client Initial packets: the ClientHello inside them.

Initial packets are encrypted only with keys anyone can derive from the Destination Connection
ID, so a passive observer can read the ClientHello and its server name. Decryption checks the
AEAD tag, so a packet that is not a real Initial fails cleanly instead of yielding noise.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from agent.wire.cursor import Cursor, DecodeError
from agent.wire.tls import MAX_CLIENT_HELLO, ClientHello, parse_handshake

if TYPE_CHECKING:  # cryptography loads at the first Initial, not with every command
    from cryptography.hazmat.primitives.ciphers import CipherContext
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

LAYER = "quic"
V1, V2 = 0x00000001, 0x6B3343CF
_SALT = {
    V1: bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"),
    V2: bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9"),
}
_LABELS = {V1: "quic", V2: "quicv2"}
_INITIAL_TYPE = {V1: 0, V2: 1}
_PADDING = re.compile(b"\x00*")


@dataclass(frozen=True, slots=True)
class InitialKeys:
    key: bytes
    iv: bytes
    hp: bytes


@dataclass(frozen=True, slots=True)
class InitialPacket:
    """One decrypted client Initial: its CRYPTO fragments as (offset, data)."""

    version: int
    dcid: bytes
    scid: bytes
    packet_number: int
    crypto: tuple[tuple[int, bytes], ...]
    length: int  # bytes of the datagram this packet used (coalesced packets may follow)


@cache
def _label_info(label: str, length: int) -> bytes:
    """HKDF-Expand-Label's info for one output block (RFC 8446 7.1), ending in its counter."""
    full = b"tls13 " + label.encode()
    return length.to_bytes(2, "big") + bytes([len(full)]) + full + b"\x00\x01"


def _expand_label(secret: bytes, label: str, length: int) -> bytes:
    return hmac.digest(secret, _label_info(label, length), "sha256")[:length]


def client_initial_keys(dcid: bytes, version: int = V1) -> InitialKeys:
    """The client's Initial key, IV and header-protection key for a Destination CID."""
    if version not in _SALT:
        raise DecodeError(LAYER, 1, f"version {version:#010x} is not QUIC v1 or v2")
    initial = hmac.digest(_SALT[version], dcid, "sha256")
    secret = _expand_label(initial, "client in", 32)
    label = _LABELS[version]
    return InitialKeys(
        _expand_label(secret, f"{label} key", 16),
        _expand_label(secret, f"{label} iv", 12),
        _expand_label(secret, f"{label} hp", 16),
    )


@dataclass(frozen=True, slots=True)
class _Decryptor:
    hp: CipherContext
    """AES-ECB with the header-protection key: one block in, the mask out."""
    aead: AESGCM
    iv: int


@lru_cache(maxsize=256)
def _decryptor(dcid: bytes, version: int) -> _Decryptor:
    """The Initial keys of a Destination CID, kept: deriving them costs more than decrypting,
    and a client sends every Initial of a connection (and its retransmissions) to the same one."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    keys = client_initial_keys(dcid, version)
    hp = Cipher(algorithms.AES(keys.hp), modes.ECB()).encryptor()
    return _Decryptor(hp, AESGCM(keys.key), int.from_bytes(keys.iv, "big"))


def _frames(payload: bytes) -> tuple[tuple[int, bytes], ...]:
    c = Cursor(payload, LAYER)
    crypto = []
    while not c.done():
        kind = c.varint("frame type")
        if kind == 0x00:  # PADDING: often most of the packet, stepped over at once
            run = _PADDING.match(payload, c.offset)
            c.skip(run.end() - c.offset if run else 0)
        elif kind == 0x01:  # PING
            continue
        elif kind in (0x02, 0x03):  # ACK, ACK with ECN counts
            c.varint("largest acknowledged")
            c.varint("ack delay")
            ranges = c.varint("ack range count")
            c.varint("first ack range")
            for _ in range(ranges):
                c.varint("gap")
                c.varint("ack range length")
            if kind == 0x03:
                for _ in range(3):
                    c.varint("ecn count")
        elif kind == 0x06:  # CRYPTO
            offset = c.varint("crypto offset")
            data = c.bytes(c.varint("crypto length"), "crypto data")
            if offset + len(data) > MAX_CLIENT_HELLO + 4:
                raise c.error(f"CRYPTO data beyond {MAX_CLIENT_HELLO} bytes")
            crypto.append((offset, data))
        elif kind == 0x1C:  # CONNECTION_CLOSE (transport)
            c.varint("error code")
            c.varint("frame type")
            c.skip(c.varint("reason length"), "reason")
        else:
            raise c.error(f"frame type {kind:#x} is not allowed in an Initial packet")
    return tuple(crypto)


def parse_initial(datagram: bytes) -> InitialPacket:
    """Decrypt the client Initial packet at the start of a UDP datagram."""
    from cryptography.exceptions import InvalidTag

    c = Cursor(datagram, LAYER)
    first = c.u8("first byte")
    if first & 0xC0 != 0xC0:
        raise c.error("not a long-header packet", 0)
    version = c.u32("version")
    if version not in _SALT:
        raise c.error(f"version {version:#010x} is not QUIC v1 or v2", 1)
    if (first >> 4) & 0x3 != _INITIAL_TYPE[version]:
        raise c.error("long-header packet is not an Initial", 0)
    dcid_len = c.u8("dcid length")
    if dcid_len > 20:
        raise c.error(f"dcid of {dcid_len} bytes")
    dcid = c.bytes(dcid_len, "dcid")
    scid_len = c.u8("scid length")
    if scid_len > 20:
        raise c.error(f"scid of {scid_len} bytes")
    scid = c.bytes(scid_len, "scid")
    c.skip(c.varint("token length"), "token")
    length = c.varint("length")
    pn_offset = c.offset
    body = c.restrict_to(length, "packet")
    if length < 20:
        raise body.error(f"packet of {length} bytes is too short to sample")
    keys = _decryptor(dcid, version)
    mask = keys.hp.update(datagram[pn_offset + 4 : pn_offset + 20])
    first ^= mask[0] & 0x0F
    pn_len = (first & 0x03) + 1
    protected = datagram[pn_offset : pn_offset + pn_len]
    pn_bytes = bytes(b ^ m for b, m in zip(protected, mask[1 : 1 + pn_len], strict=True))
    packet_number = int.from_bytes(pn_bytes, "big")
    header = bytes([first]) + datagram[1:pn_offset] + pn_bytes
    nonce = (keys.iv ^ packet_number).to_bytes(12, "big")
    try:
        payload = keys.aead.decrypt(
            nonce, datagram[pn_offset + pn_len : pn_offset + length], header
        )
    except InvalidTag:
        reason = "Initial does not decrypt (not a client Initial)"
        raise DecodeError(LAYER, pn_offset, reason) from None
    return InitialPacket(version, dcid, scid, packet_number, _frames(payload), pn_offset + length)


class CryptoAssembler:
    """The CRYPTO stream of one connection's client Initials, from fragments in any order.

    Bounded: nothing beyond the 64 KiB ClientHello limit is kept. `client_hello()` answers None
    until the bytes from offset 0 hold a whole ClientHello.
    """

    def __init__(self, limit: int = MAX_CLIENT_HELLO + 4) -> None:
        self._limit = limit
        self._buf = bytearray()
        self._have = bytearray()  # 1 where a byte of _buf has arrived

    def add(self, offset: int, data: bytes) -> None:
        end = offset + len(data)
        if end > self._limit:
            raise DecodeError(LAYER, offset, f"CRYPTO data beyond {self._limit} bytes")
        if end > len(self._buf):
            grow = end - len(self._buf)
            self._buf += bytes(grow)
            self._have += bytes(grow)
        self._buf[offset:end] = data
        self._have[offset:end] = b"\x01" * len(data)

    def contiguous(self) -> bytes:
        """The bytes from offset 0 up to the first gap."""
        gap = self._have.find(0)
        return bytes(self._buf if gap < 0 else self._buf[:gap])

    def client_hello(self) -> ClientHello | None:
        return parse_handshake(self.contiguous())
