"""The server name of a ClientHello that fits one TLS record, read by compiled code.

Why: the Python parser (`tls.parse_client_hello`) costs tens of microseconds a hello, and nearly
every TLS flow opens with one segment holding one record holding the whole ClientHello. The
compiled reader answers only when it is sure: the bytes are a complete ClientHello that the
Python parser accepts, and then it says where the server name is. Anything else (a hello over
several records or segments, damage, not TLS at all) is left to the Python parser, so the two
can never disagree. It checks everything the Python parser checks, and reads no byte outside
`[pos, end)`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from agent.wire.bytes import Buf, Int, u16be
from agent.wire.tls import (
    CLIENT_HELLO,
    EXT_ALPN,
    EXT_ECH,
    EXT_SERVER_NAME,
    EXT_SUPPORTED_VERSIONS,
    HANDSHAKE,
    MAX_CLIENT_HELLO,
    MAX_RECORD,
)

UNSURE, FOUND = 0, 1
MAX_EXTENSIONS = 64
"""More extensions than this (real clients send about 20) are left to the Python parser."""

Span = tuple[Int, Int, Int, Int]
"""(FOUND, server name offset, server name length (0: none), ECH) or (UNSURE, 0, 0, 0)."""


@njit(cache=True)
def hello_span(buf: Buf, pos: Int, end: Int) -> Span:
    """The ClientHello at `buf[pos:end]`, the start of a client's TLS stream."""
    if end - pos < 9 or buf[pos] != HANDSHAKE or buf[pos + 1] != 3:
        return UNSURE, 0, 0, 0
    length = u16be(buf, pos + 3)
    if length < 4 or length > MAX_RECORD or pos + 5 + length > end:
        return UNSURE, 0, 0, 0
    if buf[pos + 5] != CLIENT_HELLO:
        return UNSURE, 0, 0, 0
    size = (np.int64(buf[pos + 6]) << 16) | u16be(buf, pos + 7)
    if size > MAX_CLIENT_HELLO or 4 + size > length:
        return UNSURE, 0, 0, 0  # the hello goes on in the next record
    return _body(buf, pos + 9, pos + 9 + size)


@njit(cache=True)
def _body(buf: Buf, pos: Int, end: Int) -> Span:
    """A ClientHello body (`tls.parse_client_hello_body`)."""
    if end - pos < 35 or buf[pos] != 3:  # legacy_version, random, session_id length
        return UNSURE, 0, 0, 0
    session_id = np.int64(buf[pos + 34])
    pos += 35 + session_id
    if session_id > 32 or pos + 2 > end:
        return UNSURE, 0, 0, 0
    suites = u16be(buf, pos)
    pos += 2 + suites
    if suites < 2 or suites % 2 or pos + 1 > end:
        return UNSURE, 0, 0, 0
    pos += 1 + np.int64(buf[pos])  # compression methods
    if pos == end:
        return FOUND, 0, 0, 0  # TLS 1.0 allows a hello without extensions
    if pos + 2 > end or pos + 2 + u16be(buf, pos) != end:
        return UNSURE, 0, 0, 0
    return _extensions(buf, pos + 2, end)


@njit(cache=True)
def _extensions(buf: Buf, pos: Int, end: Int) -> Span:
    seen = np.empty(MAX_EXTENSIONS, np.int64)
    count = name_at = name_len = ech = 0
    while pos < end:
        if pos + 4 > end or count == MAX_EXTENSIONS:
            return UNSURE, 0, 0, 0
        kind, length = u16be(buf, pos), u16be(buf, pos + 2)
        pos += 4
        if pos + length > end:
            return UNSURE, 0, 0, 0
        for k in range(count):
            if seen[k] == kind:
                return UNSURE, 0, 0, 0  # twice: the Python parser refuses it
        seen[count] = kind
        count += 1
        ok = True
        if kind == EXT_SERVER_NAME:
            ok, name_at, name_len = _server_name(buf, pos, pos + length)
        elif kind == EXT_SUPPORTED_VERSIONS:
            ok = length >= 1 and 1 + np.int64(buf[pos]) == length and buf[pos] % 2 == 0
        elif kind == EXT_ALPN:
            ok = _alpn_ok(buf, pos, pos + length)
        elif kind == EXT_ECH:
            ech = 1
        if not ok:
            return UNSURE, 0, 0, 0
        pos += length
    return FOUND, name_at, name_len, ech


@njit(cache=True)
def _server_name(buf: Buf, pos: Int, end: Int) -> tuple[bool, Int, Int]:
    """(valid, offset, length) of the first host_name in a server_name extension."""
    if end - pos < 2 or pos + 2 + u16be(buf, pos) != end:
        return False, 0, 0
    pos += 2
    name_at = name_len = 0
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


@njit(cache=True)
def _alpn_ok(buf: Buf, pos: Int, end: Int) -> bool:
    if end - pos < 2 or pos + 2 + u16be(buf, pos) != end:
        return False
    pos += 2
    while pos < end:
        pos += 1 + np.int64(buf[pos])
    return pos == end
