"""The Host of an HTTP/1.x request at the start of a cleartext TCP stream.

Incremental: None until the header block (up to CRLFCRLF) is complete. A stream is refused as
not-HTTP as soon as its first bytes show it (the method must be a token, the request line must
end in HTTP/1.x), and a header block over 16 KiB is refused, so the buffer per flow is bounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from agent.wire.cursor import DecodeError
from agent.wire.dns import valid_hostname
from agent.wire.http_host import read_head

LAYER = "http"
MAX_HEADER = 16 * 1024
MAX_METHOD = 32
# What the compiled reader (`http_host.read_head`) answers, and why it refuses a head.
HEAD_MORE, HEAD_DONE, HEAD_BAD = 0, 1, 2
(HEAD_METHOD_BYTE, HEAD_METHOD_LONG, HEAD_LINE_LONG, HEAD_REQUEST_LINE, HEAD_TOO_LONG,
 HEAD_HEADER_LINE, HEAD_TWO_HOSTS, HEAD_OUTSIDE) = range(8)  # fmt: skip
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


def parse_http_request(data: bytes) -> HttpRequest | None:
    """The request head at the start of `data`; None = need more bytes. The compiled reader
    (`http_host.read_head`) finds the head's parts; this names them, or the refusal."""
    view = np.frombuffer(data, np.uint8)
    kind, a, b, host_line, host_at, host_end = read_head(view, 0, len(data))
    if kind == HEAD_MORE:
        return None
    host: str | None = None
    if host_line >= 0:  # the Host is read before anything after its line is refused
        try:
            host = normalize_host(host_text(data[host_at:host_end]))
        except DecodeError as err:
            raise DecodeError(LAYER, host_line, err.reason) from err
    if kind == HEAD_BAD:
        raise DecodeError(LAYER, a, _refusal(data, a, b))
    method, target, version = (g.decode("latin-1") for g in data[:b].split(b" "))
    return HttpRequest(method, target, version, host, a)


def _refusal(data: bytes, at: int, why: int) -> str:
    if why == HEAD_METHOD_BYTE:
        return f"byte {data[at]:#04x} in the method: not HTTP"
    if why == HEAD_HEADER_LINE:
        line = data[at : data.find(b"\r\n", at)]
        return f"malformed header line {line[:40]!r}"
    return {
        HEAD_METHOD_LONG: f"method longer than {MAX_METHOD} bytes: not HTTP",
        HEAD_LINE_LONG: f"request line longer than {MAX_HEADER} bytes",
        HEAD_REQUEST_LINE: "request line is not METHOD SP TARGET SP HTTP/1.x",
        HEAD_TOO_LONG: f"header block over {MAX_HEADER} bytes",
        HEAD_TWO_HOSTS: "more than one Host header",
    }.get(why, "outside its buffer")


def parse_http_host(data: bytes) -> str | None:
    """Just the Host: None = need more bytes; "" when the request has no Host header."""
    request = parse_http_request(data)
    if request is None:
        return None
    return "" if request.host is None else request.host
