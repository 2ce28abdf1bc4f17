"""The TLS ClientHello, read by compiled code: the one reader of it (`tls.parse_client_hello` and
`tls.parse_handshake` wrap it for Python, `names.pick` calls it on a segment's bytes directly).

It reads the record layer at the start of a client's TCP stream (the hello may span records)
or a bare handshake message (QUIC's CRYPTO stream), and checks the whole ClientHello: every
length used exactly, no extension twice, server_name, supported_versions and ALPN well formed.
It answers FOUND with where the parts are, MORE (need more bytes), or BAD with a TLS_* reason,
where, and the number the reason names; the Python wrapper turns that into a `DecodeError`.
Bounded: a ClientHello over 64 KiB is refused, and one over several records is first copied
whole into the caller's `scratch` (MAX_CLIENT_HELLO + 4 bytes; without one the answer is
UNSURE). No byte outside `[pos, end)` is read. Compiled (Cython, pure-Python mode).
"""

from __future__ import annotations

import cython
from cython.cimports.agent.cdefs import Bytes, Hello, HelloInfo, Info, Pos, Scratch
from cython.cimports.agent.wire import tls as T
from cython.cimports.agent.wire.bytes import u16be
from cython.cimports.libc.string import memset


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def _bad(info: Info, reason: cython.int, offset: Pos, value: cython.longlong) -> cython.int:
    info.status, info.reason, info.offset, info.value = T.HELLO_BAD, reason, offset, value
    return T.HELLO_BAD


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def _need(info: Info, at: Pos, n: Pos, end: Pos, field: cython.int) -> cython.bint:
    """Are `n` bytes of `field` there at `at`? If not, the block's length lied: refuse."""
    if at + n <= end:
        return True
    _bad(info, T.TLS_SHORT, at, field)
    return False


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def read_body(buf: Bytes, pos: Pos, end: Pos, info: Info) -> cython.int:
    """The body of a ClientHello handshake message (after type and length) at `buf[pos:end]`;
    offsets from `pos`."""
    _body(buf, pos, end, info)
    return _rebase(info, pos)


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def _body(buf: Bytes, pos: Pos, end: Pos, info: Info) -> cython.int:
    if not _need(info, pos, 2, end, T.F_LEGACY_VERSION):
        return T.HELLO_BAD
    info.legacy = u16be(buf, pos)
    if info.legacy >> 8 != 3:
        return _bad(info, T.TLS_LEGACY, pos, info.legacy)
    if not _need(info, pos + 2, 33, end, T.F_RANDOM):
        return T.HELLO_BAD
    session_id: Pos = buf[pos + 34]
    pos += 35
    if session_id > 32:
        return _bad(info, T.TLS_SESSION_ID, pos, session_id)
    if not _need(info, pos, session_id + 2, end, T.F_SESSION_ID):
        return T.HELLO_BAD
    pos += session_id
    suites: Pos = u16be(buf, pos)
    pos += 2
    if suites < 2 or suites % 2:
        return _bad(info, T.TLS_SUITES, pos, suites)
    if not _need(info, pos, suites + 1, end, T.F_SUITES):
        return T.HELLO_BAD
    pos += suites
    if not _need(info, pos + 1, buf[pos], end, T.F_COMPRESSION):
        return T.HELLO_BAD
    pos += 1 + buf[pos]
    if pos < end:  # TLS 1.0 allows a ClientHello without extensions
        if not _need(info, pos, 2, end, T.F_EXTENSIONS_LENGTH):
            return T.HELLO_BAD
        size: Pos = u16be(buf, pos)
        if not _need(info, pos + 2, size, end, T.F_EXTENSIONS):
            return T.HELLO_BAD
        if _extensions(buf, pos + 2, pos + 2 + size, info) == T.HELLO_BAD:
            return T.HELLO_BAD
        pos += 2 + size
        if pos != end:
            return _bad(info, T.TLS_AFTER, pos, end - pos)
    info.status = T.HELLO_DONE
    return T.HELLO_DONE


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def _rebase(info: Info, start: Pos) -> cython.int:
    """Offsets from the body's start, as the Python face reports and slices them."""
    if info.status == T.HELLO_BAD:
        info.offset -= start
    elif info.status == T.HELLO_DONE:
        info.name_at -= start if info.name_len else 0
        info.versions_at -= start if info.versions_at else 0
        info.alpn_at -= start if info.alpn_at else 0
    return info.status


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def _extensions(buf: Bytes, pos: Pos, end: Pos, info: Info) -> cython.int:
    seen = cython.declare(cython.uchar[8192])  # one bit per extension type
    memset(seen, 0, 8192)
    kind: cython.uint
    length: Pos
    while pos < end:
        if pos + 4 > end:
            return _bad(info, T.TLS_EXTENSION_HEADER, pos, 0)
        kind, length = u16be(buf, pos), u16be(buf, pos + 2)
        pos += 4
        if pos + length > end:
            return _bad(info, T.TLS_EXTENSION_PAST, pos, kind)
        if seen[kind >> 3] & (1 << (kind & 7)):
            return _bad(info, T.TLS_EXTENSION_TWICE, pos, kind)
        seen[kind >> 3] |= 1 << (kind & 7)
        if kind == T.EXT_SERVER_NAME:
            if _server_name(buf, pos, pos + length, info) == T.HELLO_BAD:
                return T.HELLO_BAD
        elif kind == T.EXT_SUPPORTED_VERSIONS:
            if length < 1 or 1 + buf[pos] != length or buf[pos] % 2:
                return _bad(info, T.TLS_VERSIONS, pos, length)
            info.versions_at, info.versions_len = pos + 1, buf[pos]
        elif kind == T.EXT_ALPN:
            if not _alpn_ok(buf, pos, pos + length):
                return _bad(info, T.TLS_ALPN, pos, length)
            info.alpn_at, info.alpn_len = pos + 2, length - 2
        elif kind == T.EXT_ECH:
            info.ech = 1
        pos += length
    return 0


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def _server_name(buf: Bytes, pos: Pos, end: Pos, info: Info) -> cython.int:
    """The first host_name of a server_name extension's list."""
    if end - pos < 2 or pos + 2 + u16be(buf, pos) != end:
        return _bad(info, T.TLS_SERVER_NAME, pos, end - pos)
    pos += 2
    length: Pos
    while pos < end:
        if pos + 3 > end:
            return _bad(info, T.TLS_SERVER_NAME, pos, end - pos)
        length = u16be(buf, pos + 1)
        if pos + 3 + length > end:
            return _bad(info, T.TLS_SERVER_NAME, pos, end - pos)
        if buf[pos] == 0 and not info.name_len:
            if length == 0:
                return _bad(info, T.TLS_EMPTY_NAME, pos, 0)
            info.name_at, info.name_len = pos + 3, length
        pos += 3 + length
    return 0


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


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def _handshake_length(buf: Bytes, pos: Pos, end: Pos, info: Info) -> cython.longlong:
    """The ClientHello body length from the handshake header at `pos`; -1: need more, -2: bad
    (offsets from the message's start)."""
    if pos < end and buf[pos] != T.CLIENT_HELLO:
        _bad(info, T.TLS_NOT_HELLO, 0, buf[pos])
        return -2
    if end - pos < 4:
        return -1
    length: cython.longlong = (cython.cast(cython.longlong, buf[pos + 1]) << 16) | u16be(buf,
                                                                                        pos + 2)
    if length > T.MAX_CLIENT_HELLO:
        _bad(info, T.TLS_TOO_BIG, 1, length)
        return -2
    return length


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def read_handshake(buf: Bytes, pos: Pos, end: Pos, info: Info) -> cython.int:
    """A bare ClientHello handshake message at `buf[pos:end]` (QUIC CRYPTO data)."""
    memset(info, 0, cython.sizeof(HelloInfo))
    if pos < 0 or end > buf.shape[0] or end < pos:
        return _bad(info, T.TLS_OUTSIDE, 0, 0)
    length: cython.longlong = _handshake_length(buf, pos, end, info)
    if length == -2:
        return T.HELLO_BAD
    if length == -1 or end - pos < 4 + length:
        info.status = T.HELLO_MORE
        return T.HELLO_MORE
    info.body_at = pos + 4
    return read_body(buf, pos + 4, pos + 4 + length, info)


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def read_records(buf: Bytes, pos: Pos, end: Pos, scratch: Scratch, info: Info) -> cython.int:
    """The ClientHello at the start of a TLS client stream `buf[pos:end]`: only complete
    records are used. Read in place when its first record holds it whole (`info.body_at` in
    `buf`), else copied into `scratch` first (`info.copied`); refusals of the records are at
    offsets from `pos`, of the hello from its body."""
    memset(info, 0, cython.sizeof(HelloInfo))
    if pos < 0 or end > buf.shape[0] or end < pos:
        return _bad(info, T.TLS_OUTSIDE, 0, 0)
    at: Pos = pos
    have: Pos = 0  # handshake bytes gathered in scratch
    length: cython.longlong
    size: Pos
    k: Pos
    room: Pos = scratch.shape[0]
    while at < end:
        if buf[at] != T.HANDSHAKE:
            return _bad(info, T.TLS_RECORD_TYPE, at - pos, buf[at])
        if end - at < 5:
            if end - at > 1 and buf[at + 1] != 3:
                return _bad(info, T.TLS_RECORD_MAJOR, at + 1 - pos, buf[at + 1])
            break
        if buf[at + 1] != 3:
            return _bad(info, T.TLS_RECORD_VERSION, at + 1 - pos, u16be(buf, at + 1))
        size = u16be(buf, at + 3)
        if size == 0 or size > T.MAX_TLS_RECORD:
            return _bad(info, T.TLS_RECORD_LENGTH, at + 3 - pos, size)
        if end - at - 5 < size:
            break
        if have == 0:  # the first record: is the whole message in it?
            length = _handshake_length(buf, at + 5, at + 5 + size, info)
            if length == -2:
                return T.HELLO_BAD
            if length >= 0 and 4 + length <= size:
                info.body_at = at + 9
                return read_body(buf, at + 9, at + 9 + length, info)
        if room == 0:
            info.status = T.HELLO_UNSURE
            return T.HELLO_UNSURE  # over several records: for a caller with room to copy it
        if have + size > room:
            size = room - have  # past the longest hello: the header below refuses it
        for k in range(size):
            scratch[have + k] = buf[at + 5 + k]
        have += size
        at += 5 + size
        length = _handshake_length(scratch, 0, have, info)
        if length == -2:
            return T.HELLO_BAD
        if length >= 0 and have >= 4 + length:
            info.body_at, info.copied = 4, 1
            return read_body(scratch, 4, 4 + length, info)
    info.status = T.HELLO_MORE
    return T.HELLO_MORE


@cython.ccall
def client_hello(buf: Bytes, pos: Pos, end: Pos, scratch: Scratch) -> HelloInfo:
    """`read_records` for Python: the answer as a dict of HelloInfo's fields."""
    info = cython.declare(HelloInfo)
    read_records(buf, pos, end, scratch, cython.address(info))
    return info


@cython.ccall
def handshake(buf: Bytes, pos: Pos, end: Pos) -> HelloInfo:
    """`read_handshake` for Python."""
    info = cython.declare(HelloInfo)
    read_handshake(buf, pos, end, cython.address(info))
    return info


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def hello_span(buf: Bytes, pos: Pos, end: Pos, scratch: Scratch) -> Hello:
    """For `names.pick`: (HELLO_* status, server name offset, its length (0: none), flags:
    HAS_ECH, and IN_SCRATCH when the offset is in `scratch` (the hello spans records); with an
    empty scratch that is HELLO_UNSURE instead)."""
    info = cython.declare(HelloInfo)
    status: cython.int = read_records(buf, pos, end, scratch, cython.address(info))
    if status != T.HELLO_DONE:
        return status, 0, 0, 0
    flags: cython.int = (T.HAS_ECH if info.ech else 0) | (T.IN_SCRATCH if info.copied else 0)
    if not info.name_len:
        return status, 0, 0, flags
    return status, info.body_at + info.name_at, info.name_len, flags
