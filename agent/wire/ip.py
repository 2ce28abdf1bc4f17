"""IPv4 (options, fragments) and IPv6 (extension header chain, fragments).

Addresses come out as two 64-bit words of an IPv6 address; IPv4 is IPv4-mapped (::ffff:a.b.c.d)
so one key type serves both families.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from agent.wire import reasons as R
from agent.wire.bytes import Buf, Int, u16be, u32be, u64be

FRAG_NONE, FRAG_FIRST, FRAG_MIDDLE, FRAG_LAST = range(4)
IPV4_MAPPED = np.uint64(0xFFFF_0000_0000)

EXT_HOP_BY_HOP, EXT_ROUTING, EXT_FRAGMENT, EXT_AH, EXT_DEST_OPTS, EXT_MOBILITY = (
    0,
    43,
    44,
    51,
    60,
    135,
)
MAX_EXTENSIONS = 12


class IpHeader(NamedTuple):
    reason: Int
    proto: Int
    """The transport protocol: the last next-header value of the chain."""
    payload: Int
    """Offset of the transport header."""
    payload_end: Int
    """End of this datagram's bytes in the capture (Ethernet padding excluded)."""
    length: Int
    """IPv4 total length, or IPv6 payload length + 40."""
    src_hi: np.uint64
    src_lo: np.uint64
    dst_hi: np.uint64
    dst_lo: np.uint64
    frag: Int
    frag_id: Int


@njit(cache=True)
def _fail(reason: int) -> IpHeader:
    z = np.uint64(0)
    return IpHeader(reason, 0, 0, 0, 0, z, z, z, z, FRAG_NONE, 0)


@njit(cache=True)
def _frag_kind(offset: int, more: int) -> Int:
    if offset:
        return FRAG_MIDDLE if more else FRAG_LAST
    return FRAG_FIRST if more else FRAG_NONE


@njit(cache=True)
def parse_ipv4(buf: Buf, pos: int, end: int) -> IpHeader:
    if pos + 20 > end:
        return _fail(R.TRUNCATED_IP)
    if buf[pos] >> 4 != 4:
        return _fail(R.BAD_IP_HEADER)
    ihl = np.int64(buf[pos] & 15) * 4
    total = u16be(buf, pos + 2)
    if total == 0:  # segmentation offload: the length was never filled in
        total = end - pos
    if ihl < 20 or total < ihl:
        return _fail(R.BAD_IP_HEADER)
    if pos + ihl > end:
        return _fail(R.TRUNCATED_IP)
    stop: Int = min(end, pos + total)
    flags = u16be(buf, pos + 6)
    z = np.uint64(0)
    return IpHeader(
        R.OK, np.int64(buf[pos + 9]), pos + ihl, stop, total,
        z, IPV4_MAPPED | np.uint64(u32be(buf, pos + 12)),
        z, IPV4_MAPPED | np.uint64(u32be(buf, pos + 16)),
        _frag_kind(flags & 0x1FFF, flags & 0x2000), u16be(buf, pos + 4),
    )  # fmt: skip


@njit(cache=True)
def parse_ipv6(buf: Buf, pos: int, end: int) -> IpHeader:
    if pos + 40 > end:
        return _fail(R.TRUNCATED_IP)
    if buf[pos] >> 4 != 6:
        return _fail(R.BAD_IP_HEADER)
    payload_len = u16be(buf, pos + 4)
    total = payload_len + 40 if payload_len else end - pos  # 0: jumbogram or offload
    stop: Int = min(end, pos + total)
    nh = np.int64(buf[pos + 6])
    p = pos + 40
    frag, frag_id = FRAG_NONE, 0
    size: Int = 0
    for _ in range(MAX_EXTENSIONS):
        if nh == EXT_FRAGMENT:
            if p + 8 > stop:
                return _fail(R.TRUNCATED_IP)
            field = u16be(buf, p + 2)
            frag, frag_id = _frag_kind(field & 0xFFF8, field & 1), u32be(buf, p + 4)
            size = 8
        elif nh == EXT_HOP_BY_HOP or nh == EXT_ROUTING or nh == EXT_DEST_OPTS or nh == EXT_AH:
            if p + 2 > stop:
                return _fail(R.TRUNCATED_IP)
            hdr_len = np.int64(buf[p + 1])
            size = (hdr_len + 2) * 4 if nh == EXT_AH else (hdr_len + 1) * 8
        else:
            break
        nh = np.int64(buf[p])
        p += size
        if p > stop:
            return _fail(R.TRUNCATED_IP)
        if frag == FRAG_MIDDLE or frag == FRAG_LAST:
            break  # what follows is the middle of a datagram, not headers
    else:
        return _fail(R.BAD_IPV6_EXTENSION)
    return IpHeader(
        R.OK, nh, p, stop, total,
        u64be(buf, pos + 8), u64be(buf, pos + 16), u64be(buf, pos + 24), u64be(buf, pos + 32),
        frag, frag_id,
    )  # fmt: skip
