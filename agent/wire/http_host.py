"""Where the Host of an HTTP/1.x request head whole in one segment is, found by compiled code.

Why: like `sni`, this answers only when it is sure, so Python parses only what is unusual. It is
sure when the bytes hold a whole request head that `http.parse_http_request` accepts: a method
token, `METHOD SP TARGET SP HTTP/1.x`, `name: value` header lines with token names and at most
one Host, all ending in CRLFCRLF within MAX_HEADER bytes. The Host value is then turned into a
name in Python (`http.host_text`, `http.normalize_host`), as the parser does. No byte outside
`[pos, end)` is read.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from agent.wire.bytes import Buf, Int
from agent.wire.http import MAX_HEADER, MAX_METHOD, TCHAR
from agent.wire.sni import FOUND, UNSURE

IS_TCHAR = np.zeros(256, np.bool_)
IS_TCHAR[list(TCHAR)] = True
SPACE = np.zeros(256, np.bool_)
SPACE[list(b" \t\n\r\f\v")] = True
"""What `\\s` matches in a bytes pattern."""
VERSION = np.frombuffer(b" HTTP/1.", np.uint8)

Span = tuple[Int, Int, Int]
"""(FOUND, Host value offset, length (0: none or empty)) or (UNSURE, 0, 0)."""


@njit(cache=True)
def host_span(buf: Buf, pos: Int, end: Int) -> Span:
    """The request head at `buf[pos:end]`, the start of a client's TCP stream."""
    end = min(end, pos + MAX_HEADER)  # the parser looks for the head's end only this far
    line = _request_line(buf, pos, end)
    if line < 0:
        return UNSURE, 0, 0
    host_at = host_len = hosts = 0
    while not (line + 4 <= end and buf[line + 2] == 13 and buf[line + 3] == 10):
        start, colon = line + 2, -1  # a header line: token name, colon, value
        i = start
        while i + 1 < end and not (buf[i] == 13 and buf[i + 1] == 10):
            if colon < 0 and buf[i] == 58:
                colon = i
            elif colon < 0 and not IS_TCHAR[buf[i]]:
                return UNSURE, 0, 0
            i += 1
        if i + 1 >= end or colon <= start:
            return UNSURE, 0, 0  # the head goes on, or a line without a name
        if colon == start + 4 and buf[start] | 32 == 104 and buf[start + 1] | 32 == 111:
            if buf[start + 2] | 32 == 115 and buf[start + 3] | 32 == 116:  # "host"
                hosts += 1
                host_at, host_len = colon + 1, i - colon - 1
        line = i
    if hosts > 1:
        return UNSURE, 0, 0
    return FOUND, host_at, host_len


@njit(cache=True)
def _request_line(buf: Buf, pos: Int, end: Int) -> Int:
    """Where `METHOD SP TARGET SP HTTP/1.x` ends (its CRLF); -1 if not sure."""
    i = pos
    while i < end and i - pos <= MAX_METHOD and IS_TCHAR[buf[i]]:
        i += 1
    if i == pos or i >= end or i - pos > MAX_METHOD or buf[i] != 32:
        return -1
    i += 1
    target = i
    while i < end and not SPACE[buf[i]]:
        i += 1
    if i == target or i + 11 > end:
        return -1
    for k in range(8):
        if buf[i + k] != VERSION[k]:
            return -1
    if buf[i + 8] != 48 and buf[i + 8] != 49:
        return -1
    if buf[i + 9] != 13 or buf[i + 10] != 10:
        return -1
    return i + 9
