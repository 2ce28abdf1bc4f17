"""Link layers down to the first IP header: Ethernet with VLAN/QinQ tags, MPLS and PPPoE, Linux
cooked (SLL, SLL2), BSD loopback, raw IP. Each parser returns (next layer, its offset, reason)."""

from __future__ import annotations

import numpy as np
from numba import njit

from agent.wire import reasons as R
from agent.wire.bytes import Buf, Int, u16be, u32be, u32le

# What follows a header: the layer kinds the decoder walks through.
L_NONE, L_ETHER, L_IPV4, L_IPV6, L_IP_ANY, L_PPP = range(6)

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW_OLD = (12, 14)
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276

ETH_IPV4, ETH_IPV6 = 0x0800, 0x86DD
ETH_VLAN, ETH_QINQ, ETH_QINQ_OLD = 0x8100, 0x88A8, 0x9100
ETH_MPLS, ETH_MPLS_MC = 0x8847, 0x8848
ETH_PPPOE_SESSION = 0x8864
PPP_IPV4, PPP_IPV6 = 0x0021, 0x0057
BSD_AF_INET, BSD_AF_INET6 = 2, (24, 28, 30)
MAX_LABELS = 8


@njit(cache=True)
def parse_link(buf: Buf, pos: int, end: int, linktype: int) -> tuple[Int, Int, Int]:
    """The record's link header -> the layer after it."""
    if linktype == LINKTYPE_ETHERNET:
        return L_ETHER, pos, R.OK
    if linktype == LINKTYPE_RAW or linktype == 12 or linktype == 14:
        return L_IP_ANY, pos, R.OK
    if linktype == LINKTYPE_IPV4:
        return L_IPV4, pos, R.OK
    if linktype == LINKTYPE_IPV6:
        return L_IPV6, pos, R.OK
    if linktype == LINKTYPE_LINUX_SLL:
        if pos + 16 > end:
            return L_NONE, pos, R.TRUNCATED_LINK
        return after_ethertype(buf, pos + 16, end, u16be(buf, pos + 14))
    if linktype == LINKTYPE_LINUX_SLL2:
        if pos + 20 > end:
            return L_NONE, pos, R.TRUNCATED_LINK
        return after_ethertype(buf, pos + 20, end, u16be(buf, pos))
    if linktype == LINKTYPE_NULL or linktype == LINKTYPE_LOOP:
        if pos + 4 > end:
            return L_NONE, pos, R.TRUNCATED_LINK
        family = u32be(buf, pos) if linktype == LINKTYPE_LOOP else u32le(buf, pos)
        if family > 0xFFFF:  # NULL is in the capturing host's byte order, which may not be ours
            family = u32be(buf, pos)
        if family == BSD_AF_INET:
            return L_IPV4, pos + 4, R.OK
        if family == 24 or family == 28 or family == 30:
            return L_IPV6, pos + 4, R.OK
        return L_NONE, pos, R.NOT_IP
    return L_NONE, pos, R.UNKNOWN_LINKTYPE


@njit(cache=True)
def parse_ether(buf: Buf, pos: int, end: int) -> tuple[Int, Int, Int]:
    if pos + 14 > end:
        return L_NONE, pos, R.TRUNCATED_LINK
    etype = u16be(buf, pos + 12)
    if etype < 0x0600:  # an 802.3 length: LLC/SNAP, never IP here
        return L_NONE, pos, R.NOT_IP
    return after_ethertype(buf, pos + 14, end, etype)


@njit(cache=True)
def after_ethertype(buf: Buf, pos: int, end: int, etype: int) -> tuple[Int, Int, Int]:
    """Walk VLAN tags, an MPLS label stack or a PPPoE session header to the IP header."""
    while etype == ETH_VLAN or etype == ETH_QINQ or etype == ETH_QINQ_OLD:
        if pos + 4 > end:
            return L_NONE, pos, R.TRUNCATED_LINK
        etype = u16be(buf, pos + 2)
        pos += 4
    if etype == ETH_IPV4:
        return L_IPV4, pos, R.OK
    if etype == ETH_IPV6:
        return L_IPV6, pos, R.OK
    if etype == ETH_MPLS or etype == ETH_MPLS_MC:
        return parse_mpls(buf, pos, end)
    if etype == ETH_PPPOE_SESSION:
        if pos + 6 > end:
            return L_NONE, pos, R.TRUNCATED_LINK
        return parse_ppp(buf, pos + 6, end)
    return L_NONE, pos, R.NOT_IP


@njit(cache=True)
def parse_mpls(buf: Buf, pos: int, end: int) -> tuple[Int, Int, Int]:
    for _ in range(MAX_LABELS):
        if pos + 4 > end:
            return L_NONE, pos, R.TRUNCATED_LINK
        bottom = buf[pos + 2] & 1
        pos += 4
        if bottom:
            if pos >= end:
                return L_NONE, pos, R.TRUNCATED_LINK
            version = buf[pos] >> 4
            if version == 4:
                return L_IPV4, pos, R.OK
            if version == 6:
                return L_IPV6, pos, R.OK
            if version == 0:  # pseudowire control word, then Ethernet
                return L_ETHER, pos + 4, R.OK
            return L_NONE, pos, R.MPLS_UNKNOWN_PAYLOAD
    return L_NONE, pos, R.MPLS_UNKNOWN_PAYLOAD


@njit(cache=True)
def parse_ppp(buf: Buf, pos: int, end: int) -> tuple[Int, Int, Int]:
    """PPP: optional ff03 address/control, then a one- or two-byte protocol field."""
    if pos + 2 <= end and buf[pos] == 0xFF and buf[pos + 1] == 0x03:
        pos += 2
    if pos + 1 > end:
        return L_NONE, pos, R.TRUNCATED_LINK
    if buf[pos] & 1:  # protocol field compression
        proto = np.int64(buf[pos])
        pos += 1
    elif pos + 2 <= end:
        proto = u16be(buf, pos)
        pos += 2
    else:
        return L_NONE, pos, R.TRUNCATED_LINK
    if proto == PPP_IPV4:
        return L_IPV4, pos, R.OK
    if proto == PPP_IPV6:
        return L_IPV6, pos, R.OK
    return L_NONE, pos, R.NOT_IP
