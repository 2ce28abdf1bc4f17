"""Where the Host of an HTTP/1.x request head whole in one segment is, found by compiled code.

Why: like `sni`, this answers only when it is sure, so Python parses only what is unusual. It is
sure when the bytes hold a whole request head that `http.parse_http_request` accepts: a method
token, `METHOD SP TARGET SP HTTP/1.x`, `name: value` header lines with token names and at most
one Host, all ending in CRLFCRLF within MAX_HEADER bytes. The Host value is then turned into a
name in Python (`http.host_text`, `http.normalize_host`), as the parser does. No byte outside
`[pos, end)` is read. Compiled (Cython, pure-Python mode).
"""

from __future__ import annotations

import cython
from cython.cimports.agent.cdefs import Bytes, Host, Pos
from cython.cimports.agent.wire import http as H
from cython.cimports.agent.wire import numbers as N

from agent.wire.http import TCHAR

IS_TCHAR = cython.declare(cython.uchar[256])
SPACE = cython.declare(cython.uchar[256])
"""What `\\s` matches in a bytes pattern."""
_c: cython.int
for _c in range(256):
    IS_TCHAR[_c] = _c in TCHAR
    SPACE[_c] = _c in b" \t\n\r\f\v"


@cython.ccall
@cython.exceptval(check=False)
@cython.nogil
def host_span(buf: Bytes, pos: Pos, end: Pos) -> Host:
    """The request head at `buf[pos:end]`, the start of a client's TCP stream."""
    if end > buf.shape[0] or pos < 0:
        return N.UNSURE, 0, 0  # outside the buffer: not sure of anything
    end = min(end, pos + H.MAX_HEADER)  # the parser looks for the head's end only this far
    line: Pos = _request_line(buf, pos, end)
    if line < 0:
        return N.UNSURE, 0, 0
    host_at: Pos = 0
    host_len: Pos = 0
    hosts: cython.int = 0
    start: Pos
    colon: Pos
    i: Pos
    while not (line + 4 <= end and buf[line + 2] == 13 and buf[line + 3] == 10):
        start, colon = line + 2, -1  # a header line: token name, colon, value
        i = start
        while i + 1 < end and not (buf[i] == 13 and buf[i + 1] == 10):
            if colon < 0 and buf[i] == 58:
                colon = i
            elif colon < 0 and not IS_TCHAR[buf[i]]:
                return N.UNSURE, 0, 0
            i += 1
        if i + 1 >= end or colon <= start:
            return N.UNSURE, 0, 0  # the head goes on, or a line without a name
        if colon == start + 4 and buf[start] | 32 == 104 and buf[start + 1] | 32 == 111:
            if buf[start + 2] | 32 == 115 and buf[start + 3] | 32 == 116:  # "host"
                hosts += 1
                host_at, host_len = colon + 1, i - colon - 1
        line = i
    if hosts > 1:
        return N.UNSURE, 0, 0
    return N.FOUND, host_at, host_len


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def _request_line(buf: Bytes, pos: Pos, end: Pos) -> Pos:
    """Where `METHOD SP TARGET SP HTTP/1.x` ends (its CRLF); -1 if not sure."""
    i: Pos = pos
    while i < end and i - pos <= H.MAX_METHOD and IS_TCHAR[buf[i]]:
        i += 1
    if i == pos or i >= end or i - pos > H.MAX_METHOD or buf[i] != 32:
        return -1
    i += 1
    target: Pos = i
    while i < end and not SPACE[buf[i]]:
        i += 1
    if i == target or i + 11 > end:
        return -1
    if (  # " HTTP/1."
        buf[i] != 32 or buf[i + 1] != 72 or buf[i + 2] != 84 or buf[i + 3] != 84
        or buf[i + 4] != 80 or buf[i + 5] != 47 or buf[i + 6] != 49 or buf[i + 7] != 46
    ):  # fmt: skip
        return -1
    if buf[i + 8] != 48 and buf[i + 8] != 49:
        return -1
    if buf[i + 9] != 13 or buf[i + 10] != 10:
        return -1
    return i + 9
