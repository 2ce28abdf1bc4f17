"""Messages above the transport, shaped like real clients' and servers': TLS 1.3 records and
hellos, DNS queries and answers, QUIC v1 Initial packets sealed with the RFC 9001 keys (so any
QUIC dissector opens them and reads the server name) and Handshake packets of random bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import struct
from ipaddress import ip_address

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

QUIC_V1_SALT = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")
INITIAL_KEYS = ((b"key", 16), (b"iv", 12), (b"hp", 16))


def tls_record(ctype: int, body: bytes, version: int = 0x0303) -> bytes:
    return struct.pack("!BHH", ctype, version, len(body)) + body


def tls_ext(etype: int, body: bytes) -> bytes:
    return struct.pack("!HH", etype, len(body)) + body


def vec(body: bytes, width: int = 2) -> bytes:
    return len(body).to_bytes(width, "big") + body


def varint(n: int) -> bytes:
    """A QUIC variable-length integer (RFC 9000 16), in the shortest form."""
    for width in (1, 2, 4, 8):
        if n < 1 << (8 * width - 2):
            return (n | (width.bit_length() - 1) << (8 * width - 2)).to_bytes(width, "big")
    raise ValueError(f"{n} does not fit a QUIC varint")


def quic_params(scid: bytes) -> bytes:
    """Client transport parameters (RFC 9000 18.2): limits, and the CID the client chose."""
    params = [(0x01, varint(30_000)), (0x04, varint(15_728_640)), (0x05, varint(6_291_456)),
              (0x06, varint(6_291_456)), (0x07, varint(6_291_456)), (0x08, varint(100)),
              (0x09, varint(100)), (0x0F, scid)]  # fmt: skip
    return b"".join(varint(key) + varint(len(value)) + value for key, value in params)


def client_hello(sni: str | None, rng: random.Random, quic_scid: bytes | None = None) -> bytes:
    """A TLS 1.3 ClientHello handshake message, shaped like a browser's.

    Over TCP it offers h2 and is padded to a 512-byte record; in QUIC it offers h3, carries the
    transport parameters and no legacy session id (RFC 9001 8). Without `sni` it has no
    server_name, as for a connection to an address literal (RFC 6066 3).
    """
    quic = quic_scid is not None
    exts = [] if sni is None else [tls_ext(0, vec(b"\0" + vec(sni.encode())))]
    if not quic:
        exts += [tls_ext(23, b""), tls_ext(65281, b"\0"), tls_ext(11, vec(b"\0", 1))]
    alpn = [b"h3"] if quic else [b"h2", b"http/1.1"]
    sigalgs = struct.pack("!8H", 0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601)
    exts += [
        tls_ext(10, vec(struct.pack("!4H", 0x001D, 0x0017, 0x0018, 0x0019))),
        tls_ext(16, vec(b"".join(vec(p, 1) for p in alpn))),
        tls_ext(13, vec(sigalgs)),
        tls_ext(51, vec(struct.pack("!HH", 0x001D, 32) + rng.randbytes(32))),
        tls_ext(45, vec(b"\1", 1)),
        tls_ext(43, vec(b"\3\4" if quic else b"\3\4\3\3", 1)),
    ]
    if quic_scid is not None:
        exts.append(tls_ext(0x39, quic_params(quic_scid)))
    tls12 = () if quic else (0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8)
    suites = (0x1301, 0x1302, 0x1303, *tls12)
    session = b"" if quic else rng.randbytes(32)
    fixed = struct.pack("!H", 0x0303) + rng.randbytes(32) + vec(session, 1)
    fixed += vec(struct.pack(f"!{len(suites)}H", *suites)) + vec(b"\0", 1)
    if not quic:
        pad = 512 - 5 - 4 - len(fixed) - 2 - sum(map(len, exts)) - 4
        exts.append(tls_ext(21, bytes(max(pad, 0))))
    return b"\1" + vec(fixed + vec(b"".join(exts)), 3)


def server_hello(rng: random.Random, session: bytes) -> bytes:
    """A TLS 1.3 ServerHello handshake message echoing the client's `session` id."""
    share = struct.pack("!HH", 0x001D, 32) + rng.randbytes(32)
    exts = tls_ext(43, b"\x03\x04") + tls_ext(51, share)
    hello = struct.pack("!H", 0x0303) + rng.randbytes(32) + vec(session, 1)
    return b"\2" + vec(hello + struct.pack("!HB", 0x1301, 0) + vec(exts), 3)


def server_flight(rng: random.Random, encrypted: int) -> bytes:
    """ServerHello, ChangeCipherSpec, then the encrypted certificate flight as application data."""
    hello = tls_record(22, server_hello(rng, rng.randbytes(32)))
    return hello + tls_record(20, b"\1") + app_data(rng, encrypted)


def app_data(rng: random.Random, size: int) -> bytes:
    """`size` bytes of TLS application-data records (at most 16 KiB + tag each)."""
    out = []
    while size > 0:
        body = min(size - 5, 16401) if size > 5 else 1
        out.append(tls_record(23, rng.randbytes(body)))
        size -= 5 + body
    return b"".join(out)


def dns_name(name: str) -> bytes:
    return b"".join(vec(label.encode(), 1) for label in name.split(".")) + b"\0"


def dns_message(txid: int, qname: str, qtype: int, answers: list[tuple[int, str]] | None) -> bytes:
    """A query (`answers` None) or a response whose records chain by compression pointers.

    Each answer is (type, value): 1 A, 28 AAAA, 5 CNAME. A CNAME's target owns the next record.
    """
    answers, flags = ([], 0x0100) if answers is None else (answers, 0x8180)
    out = struct.pack("!6H", txid, flags, 1, len(answers), 0, 0)
    owner = len(out)
    out += dns_name(qname) + struct.pack("!HH", qtype, 1)
    for rtype, value in answers:
        rdata = ip_address(value).packed if rtype in (1, 28) else dns_name(value)
        out += struct.pack(
            "!HHHIH", 0xC000 | owner, rtype, 1, 300 if rtype == 5 else 60, len(rdata)
        )
        if rtype == 5:
            owner = len(out)
        out += rdata
    return out


def hkdf_label(secret: bytes, label: bytes, length: int) -> bytes:
    """HKDF-Expand-Label (RFC 8446 7.1) with an empty context."""
    full = b"tls13 " + label
    info = struct.pack("!HB", length, len(full)) + full + b"\0"
    return HKDFExpand(hashes.SHA256(), length, info).derive(secret)


def initial_keys(first_dcid: bytes, side: bytes) -> tuple[bytes, bytes, bytes]:
    """Key, IV and header-protection key of one side's Initial packets (RFC 9001 5.2): both
    sides derive them from the Destination CID of the client's first Initial."""
    initial = hmac.new(QUIC_V1_SALT, first_dcid, hashlib.sha256).digest()  # HKDF-Extract
    secret = hkdf_label(initial, side + b" in", 32)
    key, iv, hp = (hkdf_label(secret, b"quic " + x, n) for x, n in INITIAL_KEYS)
    return key, iv, hp


def quic_initial(
    keys: tuple[bytes, bytes, bytes], dcid: bytes, scid: bytes, frames: bytes, pn: int
) -> bytes:
    """A QUIC v1 Initial packet padded to 1200 bytes, sealed and header-protected (RFC 9001 5)
    with a 2-byte packet number."""
    key, iv, hp = keys
    head = struct.pack("!BI", 0xC1, 1) + vec(dcid, 1) + vec(scid, 1) + varint(0)  # no token
    length = 1200 - len(head) - 2  # what the Length field counts: packet number, payload, tag
    header = head + struct.pack("!HH", 0x4000 | length, pn)
    nonce = (int.from_bytes(iv, "big") ^ pn).to_bytes(12, "big")
    sealed = AESGCM(key).encrypt(nonce, frames + bytes(length - 2 - 16 - len(frames)), header)
    encryptor = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
    mask = encryptor.update(sealed[2:18]) + encryptor.finalize()  # sampled 4 bytes past the PN
    protected = bytes(b ^ m for b, m in zip(header[-2:], mask[1:3], strict=True))
    return bytes([header[0] ^ mask[0] & 0x0F]) + header[1:-2] + protected + sealed


def crypto_frame(data: bytes) -> bytes:
    return b"\x06" + varint(0) + varint(len(data)) + data


def ack_frame(largest: int, delay: int) -> bytes:
    return b"\x02" + varint(largest) + varint(delay) + varint(0) + varint(0)


def quic_handshake(dcid: bytes, scid: bytes, size: int, rng: random.Random) -> bytes:
    """A QUIC v1 Handshake packet of `size` bytes; the protected part is random bytes."""
    head = struct.pack("!BI", 0xE3, 1) + vec(dcid, 1) + vec(scid, 1)
    rest = size - len(head) - 2
    return head + struct.pack("!H", 0x4000 | rest) + rng.randbytes(rest)
