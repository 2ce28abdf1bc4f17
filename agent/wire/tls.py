"""TLS ClientHello (TLS 1.0 to 1.3): the server name a client asks for before encryption starts.

`parse_client_hello` reads the record layer at the start of a client-to-server TCP stream and is
incremental: the ClientHello may span several records and segments, so it answers None until the
whole handshake message is there. `parse_handshake` reads a bare handshake message, as QUIC's
CRYPTO frames carry it. Both refuse a ClientHello claiming more than 64 KiB, so a buffer that
waits for one is bounded.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.wire.cursor import Cursor, DecodeError
from agent.wire.dns import valid_hostname

LAYER = "tls"
HANDSHAKE = 22
CLIENT_HELLO = 1
MAX_CLIENT_HELLO = 64 * 1024
MAX_RECORD = (1 << 14) + 2048  # TLSCiphertext limit, the largest any version allows

EXT_SERVER_NAME = 0x0000
EXT_ALPN = 0x0010
EXT_SUPPORTED_VERSIONS = 0x002B
EXT_ECH = 0xFE0D
READ = frozenset({EXT_SERVER_NAME, EXT_SUPPORTED_VERSIONS, EXT_ALPN})


@dataclass(frozen=True, slots=True)
class ClientHello:
    """What a ClientHello says about where it goes.

    With `ech`, the real name is encrypted and `server_name` is only the outer, public name of
    the ECH provider: weaker evidence than a plain SNI.
    """

    legacy_version: int
    server_name: str | None
    supported_versions: tuple[int, ...]
    alpn: tuple[str, ...]
    ech: bool
    extensions: tuple[int, ...]

    @property
    def trusted_name(self) -> bool:
        """The server name is present and a valid host name."""
        return self.server_name is not None and valid_hostname(self.server_name)


def ascii_text(raw: bytes) -> str:
    """Lower-case text; bytes outside ASCII are kept visible as escapes, never dropped."""
    return raw.decode("ascii", "backslashreplace").lower()


def _server_name(ext: Cursor) -> str | None:
    names = ext.restrict_to(ext.u16("server_name_list length"), "server_name_list")
    found = None
    while not names.done():
        kind = names.u8("name_type")
        name = names.bytes(names.u16("name length"), "host_name")
        if kind == 0 and found is None:
            if not name:
                raise names.error("empty host_name")
            found = ascii_text(name)
    ext.expect_end("server_name extension")
    return found


def _versions(ext: Cursor) -> tuple[int, ...]:
    block = ext.restrict_to(ext.u8("versions length"), "supported_versions")
    versions = tuple(block.u16("version") for _ in range(block.remaining // 2))
    block.expect_end("supported_versions")
    ext.expect_end("supported_versions extension")
    return versions


def _alpn(ext: Cursor) -> tuple[str, ...]:
    block = ext.restrict_to(ext.u16("alpn length"), "alpn")
    protocols = []
    while not block.done():
        protocols.append(ascii_text(block.bytes(block.u8("protocol length"), "protocol")))
    ext.expect_end("alpn extension")
    return tuple(protocols)


def parse_client_hello_body(body: bytes | memoryview) -> ClientHello:
    """The body of a ClientHello handshake message (after type and length)."""
    c = Cursor(body, LAYER)
    legacy_version = c.u16("legacy_version")
    if legacy_version >> 8 != 3:
        raise c.error(f"legacy_version {legacy_version:#06x} is not TLS", 0)
    c.skip(32, "random")
    session_id = c.u8("session_id length")
    if session_id > 32:
        raise c.error(f"session_id of {session_id} bytes")
    c.skip(session_id, "session_id")
    suites = c.u16("cipher_suites length")
    if suites < 2 or suites % 2:
        raise c.error(f"cipher_suites length {suites}")
    c.skip(suites, "cipher_suites")
    c.skip(c.u8("compression_methods length"), "compression_methods")
    server_name: str | None = None
    versions: tuple[int, ...] = ()
    alpn: tuple[str, ...] = ()
    types: list[int] = []
    if not c.done():  # TLS 1.0 allows a ClientHello without extensions
        size = c.u16("extensions length")
        start = c.offset
        c.skip(size, "extensions")
        pos, end = start, start + size
        while pos < end:  # walked by hand: most extensions are only stepped over
            if pos + 4 > end:
                raise DecodeError(LAYER, pos, "extension header cut by the extensions length")
            kind, length = body[pos] << 8 | body[pos + 1], body[pos + 2] << 8 | body[pos + 3]
            pos += 4
            if pos + length > end:
                raise DecodeError(LAYER, pos, f"extension {kind:#06x} runs past the extensions")
            if kind in types:
                raise DecodeError(LAYER, pos, f"extension {kind:#06x} appears twice")
            types.append(kind)
            if kind in READ:
                ext = c.block(pos, length, "extension")
                if kind == EXT_SERVER_NAME:
                    server_name = _server_name(ext)
                elif kind == EXT_SUPPORTED_VERSIONS:
                    versions = _versions(ext)
                else:
                    alpn = _alpn(ext)
            pos += length
    c.expect_end("ClientHello")
    return ClientHello(legacy_version, server_name, versions, alpn, EXT_ECH in types, tuple(types))


def _handshake_header(data: bytes | bytearray | memoryview) -> int | None:
    """Length of the ClientHello body, or None when fewer than 4 bytes are there."""
    if data and data[0] != CLIENT_HELLO:
        raise DecodeError(LAYER, 0, f"handshake type {data[0]} is not a ClientHello")
    if len(data) < 4:
        return None
    length = (data[1] << 16) | (data[2] << 8) | data[3]
    if length > MAX_CLIENT_HELLO:
        raise DecodeError(LAYER, 1, f"ClientHello of {length} bytes is over the 64 KiB limit")
    return length


def parse_handshake(data: bytes | bytearray | memoryview) -> ClientHello | None:
    """A bare ClientHello handshake message (QUIC CRYPTO stream); None = need more bytes."""
    length = _handshake_header(data)
    if length is None or len(data) < 4 + length:
        return None
    return parse_client_hello_body(memoryview(data)[4 : 4 + length])


def parse_client_hello(data: bytes) -> ClientHello | None:
    """The ClientHello at the start of a TLS client stream; None = need more bytes.

    Only complete records are used. Anything but handshake records, or a first handshake
    message that is not a ClientHello, is a `DecodeError`: the stream is not TLS.
    """
    c = Cursor(data, LAYER)
    handshake = bytearray()
    while c.remaining:
        start = c.offset
        kind = c.bytes(1, "content type")[0]
        if kind != HANDSHAKE:
            raise c.error(f"record type {kind} before the ClientHello ended", start)
        if c.remaining < 4:
            major = data[start + 1] if c.remaining else 3
            if major != 3:
                raise c.error(f"record version major {major} is not TLS", start + 1)
            return None
        version = c.u16("record version")
        if version >> 8 != 3:
            raise c.error(f"record version {version:#06x} is not TLS", start + 1)
        length = c.u16("record length")
        if length == 0 or length > MAX_RECORD:
            raise c.error(f"record length {length}", start + 3)
        if c.remaining < length:
            return None
        handshake += c.bytes(length, "record")
        need = _handshake_header(handshake)
        if need is not None and len(handshake) >= 4 + need:
            return parse_handshake(handshake)
    return None
