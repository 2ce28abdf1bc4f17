"""Link layers down to the first IP header: Ethernet with VLAN/QinQ tags, MPLS and PPPoE, Linux
cooked (SLL, SLL2), BSD loopback, raw IP. Each parser returns (next layer, its offset, reason).

Compiled (Cython, pure-Python mode); the numbers are in `agent.wire.numbers`."""

from __future__ import annotations

import cython
from cython.cimports.agent.cdefs import Bytes, Pos, Step
from cython.cimports.agent.wire import numbers as N
from cython.cimports.agent.wire import reasons as R
from cython.cimports.agent.wire.bytes import u16be, u32be, u32le


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def parse_link(buf: Bytes, pos: Pos, end: Pos, linktype: cython.longlong) -> Step:
    """The record's link header -> the layer after it."""
    family: cython.longlong
    if linktype == N.LINKTYPE_ETHERNET:
        return N.L_ETHER, pos, R.OK
    if linktype in (N.LINKTYPE_RAW, N.LINKTYPE_RAW_OLD_A, N.LINKTYPE_RAW_OLD_B):
        return N.L_IP_ANY, pos, R.OK
    if linktype == N.LINKTYPE_IPV4:
        return N.L_IPV4, pos, R.OK
    if linktype == N.LINKTYPE_IPV6:
        return N.L_IPV6, pos, R.OK
    if linktype == N.LINKTYPE_LINUX_SLL:
        if pos + 16 > end:
            return N.L_NONE, pos, R.TRUNCATED_LINK
        return after_ethertype(buf, pos + 16, end, u16be(buf, pos + 14))
    if linktype == N.LINKTYPE_LINUX_SLL2:
        if pos + 20 > end:
            return N.L_NONE, pos, R.TRUNCATED_LINK
        return after_ethertype(buf, pos + 20, end, u16be(buf, pos))
    if linktype == N.LINKTYPE_NULL or linktype == N.LINKTYPE_LOOP:
        if pos + 4 > end:
            return N.L_NONE, pos, R.TRUNCATED_LINK
        family = u32be(buf, pos) if linktype == N.LINKTYPE_LOOP else u32le(buf, pos)
        if family > 0xFFFF:  # NULL is in the capturing host's byte order, which may not be ours
            family = u32be(buf, pos)
        if family == N.BSD_AF_INET:
            return N.L_IPV4, pos + 4, R.OK
        if family == N.BSD_AF_INET6_A or family == N.BSD_AF_INET6_B or family == N.BSD_AF_INET6_C:
            return N.L_IPV6, pos + 4, R.OK
        return N.L_NONE, pos, R.NOT_IP
    return N.L_NONE, pos, R.UNKNOWN_LINKTYPE


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def parse_ether(buf: Bytes, pos: Pos, end: Pos) -> Step:
    if pos + 14 > end:
        return N.L_NONE, pos, R.TRUNCATED_LINK
    etype: cython.longlong = u16be(buf, pos + 12)
    if etype < 0x0600:  # an 802.3 length: LLC/SNAP, never IP here
        return N.L_NONE, pos, R.NOT_IP
    return after_ethertype(buf, pos + 14, end, etype)


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def after_ethertype(buf: Bytes, pos: Pos, end: Pos, etype: cython.longlong) -> Step:
    """Walk VLAN tags, an MPLS label stack or a PPPoE session header to the IP header."""
    while etype == N.ETH_VLAN or etype == N.ETH_QINQ or etype == N.ETH_QINQ_OLD:
        if pos + 4 > end:
            return N.L_NONE, pos, R.TRUNCATED_LINK
        etype = u16be(buf, pos + 2)
        pos += 4
    if etype == N.ETH_IPV4:
        return N.L_IPV4, pos, R.OK
    if etype == N.ETH_IPV6:
        return N.L_IPV6, pos, R.OK
    if etype == N.ETH_MPLS or etype == N.ETH_MPLS_MC:
        return parse_mpls(buf, pos, end)
    if etype == N.ETH_PPPOE_SESSION:
        if pos + 6 > end:
            return N.L_NONE, pos, R.TRUNCATED_LINK
        return parse_ppp(buf, pos + 6, end)
    return N.L_NONE, pos, R.NOT_IP


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def parse_mpls(buf: Bytes, pos: Pos, end: Pos) -> Step:
    version: cython.int
    for _ in range(N.MAX_LABELS):
        if pos + 4 > end:
            return N.L_NONE, pos, R.TRUNCATED_LINK
        bottom: cython.bint = buf[pos + 2] & 1
        pos += 4
        if bottom:
            if pos >= end:
                return N.L_NONE, pos, R.TRUNCATED_LINK
            version = buf[pos] >> 4
            if version == 4:
                return N.L_IPV4, pos, R.OK
            if version == 6:
                return N.L_IPV6, pos, R.OK
            if version == 0:  # pseudowire control word, then Ethernet
                return N.L_ETHER, pos + 4, R.OK
            return N.L_NONE, pos, R.MPLS_UNKNOWN_PAYLOAD
    return N.L_NONE, pos, R.MPLS_UNKNOWN_PAYLOAD


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def parse_ppp(buf: Bytes, pos: Pos, end: Pos) -> Step:
    """PPP: optional ff03 address/control, then a one- or two-byte protocol field."""
    proto: cython.longlong
    if pos + 2 <= end and buf[pos] == 0xFF and buf[pos + 1] == 0x03:
        pos += 2
    if pos + 1 > end:
        return N.L_NONE, pos, R.TRUNCATED_LINK
    if buf[pos] & 1:  # protocol field compression
        proto = buf[pos]
        pos += 1
    elif pos + 2 <= end:
        proto = u16be(buf, pos)
        pos += 2
    else:
        return N.L_NONE, pos, R.TRUNCATED_LINK
    if proto == N.PPP_IPV4:
        return N.L_IPV4, pos, R.OK
    if proto == N.PPP_IPV6:
        return N.L_IPV6, pos, R.OK
    return N.L_NONE, pos, R.NOT_IP
