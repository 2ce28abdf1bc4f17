"""IPv4 (options, fragments) and IPv6 (extension header chain, fragments).

Addresses go into the row as two 64-bit words of an IPv6 address; IPv4 is IPv4-mapped
(::ffff:a.b.c.d) so one key type serves both families. Compiled (Cython, pure-Python mode).
"""

from __future__ import annotations

import cython
from cython.cimports.agent.cdefs import Bytes, Ip, Pos, RowView
from cython.cimports.agent.wire import numbers as N
from cython.cimports.agent.wire import reasons as R
from cython.cimports.agent.wire import rows as D
from cython.cimports.agent.wire.bytes import u16be, u32be, u64be

IPV4_MAPPED = cython.declare(cython.ulonglong, 0xFFFF_0000_0000)


@cython.cfunc
@cython.exceptval(check=False)
@cython.inline
@cython.nogil
def _frag_kind(offset: cython.longlong, more: cython.longlong) -> cython.int:
    if offset:
        return N.FRAG_MIDDLE if more else N.FRAG_LAST
    return N.FRAG_FIRST if more else N.FRAG_NONE


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def parse_ipv4(buf: Bytes, pos: Pos, end: Pos, rows: RowView, n: Pos) -> Ip:
    """Fill row `n`'s IP columns (VERSION .. IP_LEN, FRAG, FRAG_ID)."""
    if pos + 20 > end:
        return R.TRUNCATED_IP, 0, 0
    if buf[pos] >> 4 != 4:
        return R.BAD_IP_HEADER, 0, 0
    ihl: Pos = (buf[pos] & 15) * 4
    total: Pos = u16be(buf, pos + 2)
    if total == 0:  # segmentation offload: the length was never filled in
        total = end - pos
    if ihl < 20 or total < ihl:
        return R.BAD_IP_HEADER, 0, 0
    if pos + ihl > end:
        return R.TRUNCATED_IP, 0, 0
    flags: cython.longlong = u16be(buf, pos + 6)
    rows[n, D.VERSION], rows[n, D.PROTO], rows[n, D.IP_LEN] = 4, buf[pos + 9], total
    rows[n, D.SRC_HI], rows[n, D.DST_HI] = 0, 0
    rows[n, D.SRC_LO] = IPV4_MAPPED | cython.cast(cython.ulonglong, u32be(buf, pos + 12))
    rows[n, D.DST_LO] = IPV4_MAPPED | cython.cast(cython.ulonglong, u32be(buf, pos + 16))
    rows[n, D.FRAG] = _frag_kind(flags & 0x1FFF, flags & 0x2000)
    rows[n, D.FRAG_ID] = u16be(buf, pos + 4)
    return R.OK, pos + ihl, min(end, pos + total)


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def parse_ipv6(buf: Bytes, pos: Pos, end: Pos, rows: RowView, n: Pos) -> Ip:
    """Fill row `n`'s IP columns; PROTO is the last next-header value of the chain."""
    if pos + 40 > end:
        return R.TRUNCATED_IP, 0, 0
    if buf[pos] >> 4 != 6:
        return R.BAD_IP_HEADER, 0, 0
    payload_len: Pos = u16be(buf, pos + 4)
    total: Pos = payload_len + 40 if payload_len else end - pos  # 0: jumbogram or offload
    stop: Pos = min(end, pos + total)
    nh: cython.int = buf[pos + 6]
    p: Pos = pos + 40
    frag: cython.int = N.FRAG_NONE
    frag_id: cython.longlong = 0
    size: Pos = 0
    field: cython.longlong
    chained: cython.bint = False
    for _ in range(N.MAX_EXTENSIONS):
        if nh == N.EXT_FRAGMENT:
            if p + 8 > stop:
                return R.TRUNCATED_IP, 0, 0
            field = u16be(buf, p + 2)
            frag, frag_id = _frag_kind(field & 0xFFF8, field & 1), u32be(buf, p + 4)
            size = 8
        elif (
            nh == N.EXT_HOP_BY_HOP or nh == N.EXT_ROUTING or nh == N.EXT_DEST_OPTS
            or nh == N.EXT_AH
        ):  # fmt: skip
            if p + 2 > stop:
                return R.TRUNCATED_IP, 0, 0
            size = (buf[p + 1] + 2) * 4 if nh == N.EXT_AH else (buf[p + 1] + 1) * 8
        else:
            chained = True
            break
        nh = buf[p]
        p += size
        if p > stop:
            return R.TRUNCATED_IP, 0, 0
        if frag == N.FRAG_MIDDLE or frag == N.FRAG_LAST:
            chained = True
            break  # what follows is the middle of a datagram, not headers
    if not chained:
        return R.BAD_IPV6_EXTENSION, 0, 0
    rows[n, D.VERSION], rows[n, D.PROTO], rows[n, D.IP_LEN] = 6, nh, total
    rows[n, D.SRC_HI], rows[n, D.SRC_LO] = u64be(buf, pos + 8), u64be(buf, pos + 16)
    rows[n, D.DST_HI], rows[n, D.DST_LO] = u64be(buf, pos + 24), u64be(buf, pos + 32)
    rows[n, D.FRAG], rows[n, D.FRAG_ID] = frag, frag_id
    return R.OK, p, stop
