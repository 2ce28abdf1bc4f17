"""The server name of a ClientHello that fits one TLS record, read by compiled code.

Why: the Python parser (`tls.parse_client_hello`) costs tens of microseconds a hello, and nearly
every TLS flow opens with one segment holding one record holding the whole ClientHello. The
compiled reader answers only when it is sure: the bytes are a complete ClientHello that the
Python parser accepts, and then it says where the server name is. Anything else (a hello over
several records or segments, damage, not TLS at all) is left to the Python parser, so the two
can never disagree. It checks everything the Python parser checks, and reads no byte outside
`[pos, end)`. Compiled (Cython, pure-Python mode).
"""

from __future__ import annotations

import cython
from cython.cimports.agent.cdefs import Bytes, Hello, Pos
from cython.cimports.agent.wire import numbers as N
from cython.cimports.agent.wire import tls as T
from cython.cimports.agent.wire.bytes import u16be

MAX_EXTENSIONS = cython.declare(cython.int, 64)
"""More extensions than this (real clients send about 20) are left to the Python parser."""


@cython.ccall
@cython.exceptval(check=False)
@cython.nogil
def hello_span(buf: Bytes, pos: Pos, end: Pos) -> Hello:
    """The ClientHello at `buf[pos:end]`, the start of a client's TLS stream."""
    if end > buf.shape[0] or pos < 0:
        end = -1  # outside the buffer: not sure of anything
    if end - pos < 9 or buf[pos] != T.HANDSHAKE or buf[pos + 1] != 3:
        return N.UNSURE, 0, 0, 0
    length: Pos = u16be(buf, pos + 3)
    if length < 4 or length > T.MAX_RECORD or pos + 5 + length > end:
        return N.UNSURE, 0, 0, 0
    if buf[pos + 5] != T.CLIENT_HELLO:
        return N.UNSURE, 0, 0, 0
    size: Pos = (cython.cast(Pos, buf[pos + 6]) << 16) | u16be(buf, pos + 7)
    if size > T.MAX_CLIENT_HELLO or 4 + size > length:
        return N.UNSURE, 0, 0, 0  # the hello goes on in the next record
    return _body(buf, pos + 9, pos + 9 + size)


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def _body(buf: Bytes, pos: Pos, end: Pos) -> Hello:
    """A ClientHello body (`tls.parse_client_hello_body`)."""
    if end - pos < 35 or buf[pos] != 3:  # legacy_version, random, session_id length
        return N.UNSURE, 0, 0, 0
    session_id: Pos = buf[pos + 34]
    pos += 35 + session_id
    if session_id > 32 or pos + 2 > end:
        return N.UNSURE, 0, 0, 0
    suites: Pos = u16be(buf, pos)
    pos += 2 + suites
    if suites < 2 or suites % 2 or pos + 1 > end:
        return N.UNSURE, 0, 0, 0
    pos += 1 + buf[pos]  # compression methods
    if pos == end:
        return N.FOUND, 0, 0, 0  # TLS 1.0 allows a hello without extensions
    if pos + 2 > end or pos + 2 + u16be(buf, pos) != end:
        return N.UNSURE, 0, 0, 0
    return _extensions(buf, pos + 2, end)


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def _extensions(buf: Bytes, pos: Pos, end: Pos) -> Hello:
    seen = cython.declare(cython.longlong[64])
    count: cython.int = 0
    name_at: Pos = 0
    name_len: Pos = 0
    ech: cython.int = 0
    kind: cython.longlong
    length: Pos
    k: cython.int
    ok: cython.bint
    while pos < end:
        if pos + 4 > end or count == MAX_EXTENSIONS:
            return N.UNSURE, 0, 0, 0
        kind, length = u16be(buf, pos), u16be(buf, pos + 2)
        pos += 4
        if pos + length > end:
            return N.UNSURE, 0, 0, 0
        for k in range(count):
            if seen[k] == kind:
                return N.UNSURE, 0, 0, 0  # twice: the Python parser refuses it
        seen[count] = kind
        count += 1
        ok = True
        if kind == T.EXT_SERVER_NAME:
            ok, name_at, name_len = _server_name(buf, pos, pos + length)
        elif kind == T.EXT_SUPPORTED_VERSIONS:
            ok = length >= 1 and 1 + buf[pos] == length and buf[pos] % 2 == 0
        elif kind == T.EXT_ALPN:
            ok = _alpn_ok(buf, pos, pos + length)
        elif kind == T.EXT_ECH:
            ech = 1
        if not ok:
            return N.UNSURE, 0, 0, 0
        pos += length
    return N.FOUND, name_at, name_len, ech


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def _server_name(buf: Bytes, pos: Pos, end: Pos) -> tuple[cython.bint, Pos, Pos]:
    """(valid, offset, length) of the first host_name in a server_name extension."""
    if end - pos < 2 or pos + 2 + u16be(buf, pos) != end:
        return False, 0, 0
    pos += 2
    name_at: Pos = 0
    name_len: Pos = 0
    kind: cython.int
    length: Pos
    while pos < end:
        if pos + 3 > end:
            return False, 0, 0
        kind, length = buf[pos], u16be(buf, pos + 1)
        pos += 3
        if pos + length > end:
            return False, 0, 0
        if kind == 0 and name_at == 0:
            if length == 0:
                return False, 0, 0
            name_at, name_len = pos, length
        pos += length
    return True, name_at, name_len


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def _alpn_ok(buf: Bytes, pos: Pos, end: Pos) -> cython.bint:
    if end - pos < 2 or pos + 2 + u16be(buf, pos) != end:
        return False
    pos += 2
    while pos < end:
        pos += 1 + buf[pos]
    return pos == end
