"""The HTTP/1.x request head, read by compiled code: the one reader of it (`http.parse_http_request`
wraps it for Python, `names.pick` calls it on a segment's bytes directly).

It reads `METHOD SP TARGET SP HTTP/1.x` and `name: value` header lines with token names up to
CRLFCRLF within MAX_HEADER bytes, and answers with offsets: the head is whole (where it ends,
where the request line ends, where the one Host value is), or more bytes are needed, or it is
refused (where, and why: a HEAD_* code). Refusals come in the order a reader meets them, so the
Python wrapper turns them into the same `DecodeError` each time. No byte outside `[pos, end)` is
read. Compiled (Cython, pure-Python mode).
"""

from __future__ import annotations

import cython
from cython.cimports.agent.cdefs import Bytes, Head, Pos
from cython.cimports.agent.wire import http as H

TCHAR = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
"""The bytes of a token (RFC 9110): methods and header names."""
IS_TCHAR = cython.declare(cython.uchar[256])
SPACE = cython.declare(cython.uchar[256])
"""What `\\s` matches in a bytes pattern: the request target is everything else."""
_c: cython.int
for _c in range(256):
    IS_TCHAR[_c] = _c in TCHAR
    SPACE[_c] = _c in b" \t\n\r\f\v"


@cython.ccall
@cython.exceptval(check=False)
@cython.nogil
def read_head(buf: Bytes, pos: Pos, end: Pos) -> Head:
    """The request head at `buf[pos:end]`, the start of a client's TCP stream, offsets from pos:
    (HEAD_DONE, head length, request line end, Host line or -1, Host value start, its end),
    (HEAD_MORE, 0, 0, -1, 0, 0) or (HEAD_BAD, offset, HEAD_* reason, Host line or -1, ...)
    where the Host fields name a Host line met before the refusal."""
    if pos < 0 or end > buf.shape[0] or end < pos:
        return H.HEAD_BAD, 0, H.HEAD_OUTSIDE, -1, 0, 0
    size: Pos = end - pos
    i: Pos
    for i in range(min(size, H.MAX_METHOD + 1)):  # a method token, then a space
        if buf[pos + i] == 32 and i > 0:
            break
        if not IS_TCHAR[buf[pos + i]]:
            return H.HEAD_BAD, i, H.HEAD_METHOD_BYTE, -1, 0, 0
    else:
        if size > H.MAX_METHOD:
            return H.HEAD_BAD, 0, H.HEAD_METHOD_LONG, -1, 0, 0
    limit: Pos = min(size, H.MAX_HEADER)  # CRLFs are looked for this far
    line_end: Pos = _crlf(buf, pos, 0, limit)
    if line_end < 0:
        if size >= H.MAX_HEADER:
            return H.HEAD_BAD, 0, H.HEAD_LINE_LONG, -1, 0, 0
        return H.HEAD_MORE, 0, 0, -1, 0, 0
    if not _request_line(buf, pos, line_end):
        return H.HEAD_BAD, 0, H.HEAD_REQUEST_LINE, -1, 0, 0
    head_end: Pos = _blank_line(buf, pos, line_end, limit)
    if head_end < 0:
        if size >= H.MAX_HEADER:
            return H.HEAD_BAD, line_end, H.HEAD_TOO_LONG, -1, 0, 0
        return H.HEAD_MORE, 0, 0, -1, 0, 0
    host_line: Pos = -1
    host_at: Pos = 0
    host_end: Pos = 0
    start: Pos = line_end + 2
    stop: Pos
    colon: Pos
    while head_end > line_end and start <= head_end:  # each header line, CRLF-ended
        stop = _crlf(buf, pos, start, head_end + 2)
        colon = start
        while colon < stop and buf[pos + colon] != 58:
            if not IS_TCHAR[buf[pos + colon]]:
                break
            colon += 1
        if colon == start or colon == stop or buf[pos + colon] != 58:
            return H.HEAD_BAD, start, H.HEAD_HEADER_LINE, host_line, host_at, host_end
        if colon - start == 4 and _is_host(buf, pos + start):
            if host_line >= 0:
                return H.HEAD_BAD, start, H.HEAD_TWO_HOSTS, host_line, host_at, host_end
            host_line, host_at, host_end = start, colon + 1, stop
        start = stop + 2
    return H.HEAD_DONE, head_end + 4, line_end, host_line, host_at, host_end


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def _crlf(buf: Bytes, pos: Pos, start: Pos, limit: Pos) -> Pos:
    """The first CRLF at or after `start` that ends before `limit`; -1 if none."""
    i: Pos
    for i in range(start, limit - 1):
        if buf[pos + i] == 13 and buf[pos + i + 1] == 10:
            return i
    return -1


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def _blank_line(buf: Bytes, pos: Pos, start: Pos, limit: Pos) -> Pos:
    """The first CRLFCRLF at or after `start` that ends before `limit`; -1 if none."""
    i: Pos = _crlf(buf, pos, start, limit)
    while i >= 0:
        if i + 3 < limit and buf[pos + i + 2] == 13 and buf[pos + i + 3] == 10:
            return i
        i = _crlf(buf, pos, i + 1, limit)
    return -1


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def _request_line(buf: Bytes, pos: Pos, end: Pos) -> cython.bint:
    """`METHOD SP TARGET SP HTTP/1.0` or `HTTP/1.1`, exactly, in `[0, end)`."""
    i: Pos = 0
    while i < end and IS_TCHAR[buf[pos + i]]:
        i += 1
    if i == 0 or i >= end or buf[pos + i] != 32:
        return False
    i += 1
    target: Pos = i
    while i < end and not SPACE[buf[pos + i]]:
        i += 1
    if i == target or i + 9 != end:
        return False
    p: Pos = pos + i
    return (
        buf[p] == 32 and buf[p + 1] == 72 and buf[p + 2] == 84 and buf[p + 3] == 84
        and buf[p + 4] == 80 and buf[p + 5] == 47 and buf[p + 6] == 49 and buf[p + 7] == 46
        and (buf[p + 8] == 48 or buf[p + 8] == 49)
    )  # fmt: skip


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def _is_host(buf: Bytes, at: Pos) -> cython.bint:
    """`host` in any case."""
    return (
        buf[at] | 32 == 104 and buf[at + 1] | 32 == 111 and buf[at + 2] | 32 == 115
        and buf[at + 3] | 32 == 116
    )  # fmt: skip
