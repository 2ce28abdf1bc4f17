"""TLS ClientHello (TLS 1.0 to 1.3): the server name a client asks for before encryption starts.

`parse_client_hello` reads the record layer at the start of a client-to-server TCP stream and is
incremental: the ClientHello may span several records and segments, so it answers None until the
whole handshake message is there. `parse_handshake` reads a bare handshake message, as QUIC's
CRYPTO frames carry it. Both refuse a ClientHello claiming more than 64 KiB, so a buffer that
waits for one is bounded. The one reader of the bytes is compiled (`tls_hello`); this module
names what it found, or why it refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from agent.wire.cursor import DecodeError
from agent.wire.dns import valid_hostname
from agent.wire.tls_hello import client_hello, handshake

LAYER = "tls"
HANDSHAKE = 22
CLIENT_HELLO = 1
MAX_CLIENT_HELLO = 64 * 1024
MAX_TLS_RECORD = (1 << 14) + 2048  # TLSCiphertext limit, the largest any version allows

EXT_SERVER_NAME = 0x0000
EXT_ALPN = 0x0010
EXT_SUPPORTED_VERSIONS = 0x002B
EXT_ECH = 0xFE0D
# What the compiled reader (`tls_hello`) answers, and why it refuses.
HELLO_MORE, HELLO_DONE, HELLO_BAD, HELLO_UNSURE = range(4)
HAS_ECH, IN_SCRATCH = 1, 2
"""`tls_hello.hello_span` flags: the hello has ECH; its name was read from the caller's copy."""
(TLS_OUTSIDE, TLS_SHORT, TLS_LEGACY, TLS_SESSION_ID, TLS_SUITES, TLS_AFTER, TLS_EXTENSION_HEADER,
 TLS_EXTENSION_PAST, TLS_EXTENSION_TWICE, TLS_VERSIONS, TLS_ALPN, TLS_SERVER_NAME,
 TLS_EMPTY_NAME, TLS_NOT_HELLO, TLS_TOO_BIG, TLS_RECORD_TYPE, TLS_RECORD_MAJOR,
 TLS_RECORD_VERSION, TLS_RECORD_LENGTH) = range(19)  # fmt: skip
FIELDS = ("legacy_version", "random", "session_id", "cipher_suites", "compression_methods",
          "extensions length", "extensions")  # fmt: skip
"""What a ClientHello body ran out in (TLS_SHORT), by F_* code."""
(F_LEGACY_VERSION, F_RANDOM, F_SESSION_ID, F_SUITES, F_COMPRESSION, F_EXTENSIONS_LENGTH,
 F_EXTENSIONS) = range(7)  # fmt: skip
REFUSALS = {
    TLS_OUTSIDE: "outside its buffer",
    TLS_LEGACY: "legacy_version {:#06x} is not TLS",
    TLS_SESSION_ID: "session_id of {} bytes",
    TLS_SUITES: "cipher_suites length {}",
    TLS_AFTER: "{} unexpected bytes after the ClientHello's extensions",
    TLS_EXTENSION_HEADER: "extension header cut by the extensions length",
    TLS_EXTENSION_PAST: "extension {:#06x} runs past the extensions",
    TLS_EXTENSION_TWICE: "extension {:#06x} appears twice",
    TLS_VERSIONS: "supported_versions extension of {} bytes is malformed",
    TLS_ALPN: "alpn extension of {} bytes is malformed",
    TLS_SERVER_NAME: "server_name list is malformed ({} bytes left)",
    TLS_EMPTY_NAME: "empty host_name",
    TLS_NOT_HELLO: "handshake type {} is not a ClientHello",
    TLS_TOO_BIG: "ClientHello of {} bytes is over the 64 KiB limit",
    TLS_RECORD_TYPE: "record type {} before the ClientHello ended",
    TLS_RECORD_MAJOR: "record version major {} is not TLS",
    TLS_RECORD_VERSION: "record version {:#06x} is not TLS",
    TLS_RECORD_LENGTH: "record length {}",
}


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

    @property
    def trusted_name(self) -> bool:
        """The server name is present and a valid host name."""
        return self.server_name is not None and valid_hostname(self.server_name)


def ascii_text(raw: bytes) -> str:
    """Lower-case text; bytes outside ASCII are kept visible as escapes, never dropped."""
    return raw.decode("ascii", "backslashreplace").lower()


def parse_client_hello(data: bytes) -> ClientHello | None:
    """The ClientHello at the start of a TLS client stream; None = need more bytes.

    Only complete records are used. Anything but handshake records, or a first handshake
    message that is not a ClientHello, is a `DecodeError`: the stream is not TLS.
    """
    view = np.frombuffer(data, np.uint8)
    scratch = np.empty(MAX_CLIENT_HELLO + 4, np.uint8)  # a hello over records is copied here
    info = client_hello(view, 0, len(view), scratch)
    return _named(info, scratch if info["copied"] else view)


def parse_handshake(data: bytes | bytearray | memoryview) -> ClientHello | None:
    """A bare ClientHello handshake message (QUIC CRYPTO stream); None = need more bytes."""
    view = np.frombuffer(data, np.uint8)
    return _named(handshake(view, 0, len(view)), view)


def _named(info: dict[str, Any], buf: np.ndarray[Any, Any]) -> ClientHello | None:
    """The reader's answer as a ClientHello, None, or the refusal as a `DecodeError`."""
    if info["status"] == HELLO_MORE:
        return None
    if info["status"] != HELLO_DONE:
        why = info["reason"]
        text = f"block too short: {FIELDS[info['value']]}" if why == TLS_SHORT else REFUSALS[why]
        raise DecodeError(LAYER, info["offset"], text.format(info["value"]))
    body = info["body_at"]

    def part(at: int, n: int) -> bytes:
        return bytes(buf[body + at : body + at + n])

    name, versions_raw = part(info["name_at"], info["name_len"]), part(info["versions_at"],
                                                                       info["versions_len"])
    versions = tuple(versions_raw[i] << 8 | versions_raw[i + 1] for i in range(0,
                                                                           len(versions_raw), 2))
    raw, alpn, at = part(info["alpn_at"], info["alpn_len"]), [], 0
    while at < len(raw):  # checked whole by the reader: here only split
        alpn.append(ascii_text(raw[at + 1 : at + 1 + raw[at]]))
        at += 1 + raw[at]
    server_name = ascii_text(name) if info["name_len"] else None
    return ClientHello(info["legacy"], server_name, versions, tuple(alpn), bool(info["ech"]))
