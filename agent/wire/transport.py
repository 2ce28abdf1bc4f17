"""Transport headers: the ports that key a flow, and TCP's flags that start and end one.
Compiled (Cython, pure-Python mode)."""

from __future__ import annotations

import cython
from cython.cimports.agent.cdefs import Bytes, Pos
from cython.cimports.agent.wire import numbers as N
from cython.cimports.agent.wire import reasons as R
from cython.cimports.agent.wire.bytes import u16be, u32be


@cython.ccall
@cython.exceptval(check=False)
@cython.nogil
def has_ports(proto: cython.longlong) -> cython.bint:
    return (
        proto == N.IP_TCP or proto == N.IP_UDP or proto == N.IP_SCTP or proto == N.IP_UDPLITE
        or proto == N.IP_DCCP
    )  # fmt: skip


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def parse_transport(
    buf: Bytes, pos: Pos, end: Pos, proto: cython.longlong
) -> tuple[cython.int, cython.longlong, cython.longlong, cython.longlong]:
    """-> (reason, source port, destination port, TCP flags); port-less protocols give zeros."""
    if not has_ports(proto):
        return R.OK, 0, 0, 0
    if pos + 4 > end:
        return R.TRUNCATED_TRANSPORT, 0, 0, 0
    flags: cython.longlong = buf[pos + 13] if proto == N.IP_TCP and pos + 14 <= end else 0
    return R.OK, u16be(buf, pos), u16be(buf, pos + 2), flags


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def payload_span(
    buf: Bytes, pos: Pos, end: Pos, proto: cython.longlong
) -> tuple[cython.Py_ssize_t, cython.Py_ssize_t, cython.longlong]:
    """-> (offset, captured length, TCP sequence number) of the transport payload, for the
    parsers that read names; zeros where there is none or the header is cut."""
    start: Pos
    if proto == N.IP_UDP and pos + 8 <= end:
        return pos + 8, end - pos - 8, 0
    if proto == N.IP_TCP and pos + 13 <= end:
        start = pos + (buf[pos + 12] >> 4) * 4
        if start <= end:
            return start, end - start, u32be(buf, pos + 4)
    return 0, 0, 0
