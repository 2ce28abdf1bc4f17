"""The Host of an HTTP/1.x request at the start of a cleartext TCP stream.

Incremental: None until the header block (up to CRLFCRLF) is complete. A stream is refused as
not-HTTP as soon as its first bytes show it (the method must be a token, the request line must
end in HTTP/1.x), and a header block over 16 KiB is refused, so the buffer per flow is bounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.wire.cursor import DecodeError
from agent.wire.dns import valid_hostname

LAYER = "http"
MAX_HEADER = 16 * 1024
MAX_METHOD = 32

TCHAR = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_REQUEST_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP/(1\.[01])\Z")
_PORT = re.compile(r":[0-9]*\Z")


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """The request head. `host` is normalised (see `normalize_host`); None when absent."""

    method: str
    target: str
    version: str
    host: str | None
    header_length: int

    @property
    def trusted_host(self) -> bool:
        return self.host is not None and valid_hostname(self.host)


def normalize_host(value: str) -> str:
    """Lower-case, port removed; an IPv6 literal `[2001:db8::1]:80` becomes `2001:db8::1`."""
    host = value.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            raise DecodeError(LAYER, 0, f"unclosed IPv6 literal in Host {value!r}")
        rest = host[end + 1 :]
        if rest and not _PORT.match(rest):
            raise DecodeError(LAYER, 0, f"junk after IPv6 literal in Host {value!r}")
        return host[1:end]
    match = _PORT.search(host)
    return host[: match.start()] if match else host


def host_text(value: bytes) -> str:
    """A Host value as text: ASCII as is, other bytes as escapes (never dropped)."""
    return value.decode("ascii", "backslashreplace")


def _check_method(data: bytes) -> None:
    """Refuse early: the first bytes must be a method token and a space."""
    for i, b in enumerate(data[: MAX_METHOD + 1]):
        if b == 0x20 and i > 0:
            return
        if b not in TCHAR:
            raise DecodeError(LAYER, i, f"byte {b:#04x} in the method: not HTTP")
    if len(data) > MAX_METHOD:
        raise DecodeError(LAYER, 0, f"method longer than {MAX_METHOD} bytes: not HTTP")


def parse_http_request(data: bytes) -> HttpRequest | None:
    """The request head at the start of `data`; None = need more bytes."""
    _check_method(data)
    line_end = data.find(b"\r\n", 0, MAX_HEADER)
    if line_end < 0:
        if len(data) >= MAX_HEADER:
            raise DecodeError(LAYER, 0, f"request line longer than {MAX_HEADER} bytes")
        return None
    match = _REQUEST_LINE.match(data[:line_end])
    if not match:
        raise DecodeError(LAYER, 0, "request line is not METHOD SP TARGET SP HTTP/1.x")
    end = data.find(b"\r\n\r\n", line_end, MAX_HEADER)
    if end < 0:
        if len(data) >= MAX_HEADER:
            raise DecodeError(LAYER, line_end, f"header block over {MAX_HEADER} bytes")
        return None
    host: str | None = None
    pos = line_end + 2
    lines = data[line_end + 2 : end].split(b"\r\n") if end > line_end else []
    for line in lines:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip() or any(b not in TCHAR for b in name):
            raise DecodeError(LAYER, pos, f"malformed header line {line[:40]!r}")
        if name.lower() == b"host":
            if host is not None:
                raise DecodeError(LAYER, pos, "more than one Host header")
            try:
                host = normalize_host(host_text(value))
            except DecodeError as err:
                raise DecodeError(LAYER, pos, err.reason) from err
        pos += len(line) + 2
    method, target, version = (g.decode("latin-1") for g in match.groups())
    return HttpRequest(method, target, f"HTTP/{version}", host, end + 4)


def parse_http_host(data: bytes) -> str | None:
    """Just the Host: None = need more bytes; "" when the request has no Host header."""
    request = parse_http_request(data)
    if request is None:
        return None
    return "" if request.host is None else request.host
