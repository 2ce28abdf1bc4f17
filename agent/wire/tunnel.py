"""Tunnels: what an outer packet carries (VXLAN, Geneve, Teredo, GRE with PPTP's PPP, IP-in-IP,
6in4). Each returns (inner layer, its offset, reason); L_NONE with OK means "nothing to follow"."""

from __future__ import annotations

from numba import njit

from agent.wire import reasons as R
from agent.wire.bytes import Buf, Int, u16be
from agent.wire.link import ETH_IPV4, ETH_IPV6, L_ETHER, L_IPV4, L_IPV6, L_NONE, L_PPP
from agent.wire.transport import IP_GRE, IP_IPIP, IP_IPV6, IP_UDP

VXLAN_PORT, GENEVE_PORT, TEREDO_PORT = 4789, 6081, 3544
ETH_TRANSPARENT_BRIDGING, ETH_PPP = 0x6558, 0x880B
GRE_CSUM, GRE_KEY, GRE_SEQ, GRE_ACK = 0x8000, 0x2000, 0x1000, 0x0080


@njit(cache=True)
def inner_layer(
    buf: Buf, pos: int, end: int, proto: int, sport: int, dport: int
) -> tuple[Int, Int, Int]:
    """The payload at `pos` of an IP packet with this transport -> the tunnelled layer, if any."""
    if proto == IP_IPIP:
        return L_IPV4, pos, R.OK
    if proto == IP_IPV6:
        return L_IPV6, pos, R.OK
    if proto == IP_GRE:
        return parse_gre(buf, pos, end)
    if proto == IP_UDP:
        body = pos + 8
        if dport == VXLAN_PORT or sport == VXLAN_PORT:
            return _checked(L_ETHER, body + 8, end)
        if dport == GENEVE_PORT or sport == GENEVE_PORT:
            return parse_geneve(buf, body, end)
        if dport == TEREDO_PORT or sport == TEREDO_PORT:
            return parse_teredo(buf, body, end)
    return L_NONE, pos, R.OK


@njit(cache=True)
def _checked(layer: int, pos: int, end: int) -> tuple[Int, Int, Int]:
    if pos > end:
        return L_NONE, pos, R.BAD_TUNNEL_HEADER
    return layer, pos, R.OK


@njit(cache=True)
def _by_ethertype(etype: int, pos: int, end: int) -> tuple[Int, Int, Int]:
    if etype == ETH_TRANSPARENT_BRIDGING:
        return _checked(L_ETHER, pos, end)
    if etype == ETH_IPV4:
        return _checked(L_IPV4, pos, end)
    if etype == ETH_IPV6:
        return _checked(L_IPV6, pos, end)
    if etype == ETH_PPP:
        return _checked(L_PPP, pos, end)
    return L_NONE, pos, R.OK


@njit(cache=True)
def parse_geneve(buf: Buf, pos: int, end: int) -> tuple[Int, Int, Int]:
    if pos + 8 > end:
        return L_NONE, pos, R.BAD_TUNNEL_HEADER
    return _by_ethertype(u16be(buf, pos + 2), pos + 8 + (buf[pos] & 0x3F) * 4, end)


@njit(cache=True)
def parse_gre(buf: Buf, pos: int, end: int) -> tuple[Int, Int, Int]:
    """GRE (RFC 2784/2890) and PPTP's enhanced GRE (version 1, RFC 2637)."""
    if pos + 4 > end:
        return L_NONE, pos, R.BAD_TUNNEL_HEADER
    flags = u16be(buf, pos)
    size = 4
    for bit in (GRE_CSUM, GRE_KEY, GRE_SEQ):
        if flags & bit:
            size += 4
    if flags & 7 == 1 and flags & GRE_ACK:
        size += 4
    return _by_ethertype(u16be(buf, pos + 2), pos + size, end)


@njit(cache=True)
def parse_teredo(buf: Buf, pos: int, end: int) -> tuple[Int, Int, Int]:
    """Teredo (RFC 4380): optional authentication and origin indication, then IPv6."""
    if pos + 2 <= end and u16be(buf, pos) == 1:  # authentication header
        if pos + 4 > end:
            return L_NONE, pos, R.BAD_TUNNEL_HEADER
        pos += 4 + buf[pos + 2] + buf[pos + 3] + 8 + 1
    if pos + 2 <= end and u16be(buf, pos) == 0:  # origin indication
        pos += 8
    if pos < end and buf[pos] >> 4 == 6:
        return L_IPV6, pos, R.OK
    return L_NONE, pos, R.OK  # UDP to 3544 that is not an IPv6 packet: just UDP
