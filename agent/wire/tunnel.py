"""Tunnels: what an outer packet carries (VXLAN, Geneve, Teredo, GRE with PPTP's PPP, IP-in-IP,
6in4). Each returns (inner layer, its offset, reason); L_NONE with OK means "nothing to follow".
Compiled (Cython, pure-Python mode)."""

from __future__ import annotations

import cython
from cython.cimports.agent.cdefs import Bytes, Pos, Step
from cython.cimports.agent.wire import numbers as N
from cython.cimports.agent.wire import reasons as R
from cython.cimports.agent.wire.bytes import u16be


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def inner_layer(
    buf: Bytes, pos: Pos, end: Pos, proto: cython.longlong, sport: cython.longlong,
    dport: cython.longlong,
) -> Step:  # fmt: skip
    """The payload at `pos` of an IP packet with this transport -> the tunnelled layer, if any."""
    body: Pos
    if proto == N.IP_IPIP:
        return N.L_IPV4, pos, R.OK
    if proto == N.IP_IPV6:
        return N.L_IPV6, pos, R.OK
    if proto == N.IP_GRE:
        return parse_gre(buf, pos, end)
    if proto == N.IP_UDP:
        body = pos + 8
        if dport == N.VXLAN_PORT or sport == N.VXLAN_PORT:
            return _checked(N.L_ETHER, body + 8, end)
        if dport == N.GENEVE_PORT or sport == N.GENEVE_PORT:
            return parse_geneve(buf, body, end)
        if dport == N.TEREDO_PORT or sport == N.TEREDO_PORT:
            return parse_teredo(buf, body, end)
    return N.L_NONE, pos, R.OK


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def _checked(layer: cython.int, pos: Pos, end: Pos) -> Step:
    if pos > end:
        return N.L_NONE, pos, R.BAD_TUNNEL_HEADER
    return layer, pos, R.OK


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def _by_ethertype(etype: cython.longlong, pos: Pos, end: Pos) -> Step:
    if etype == N.ETH_TRANSPARENT_BRIDGING:
        return _checked(N.L_ETHER, pos, end)
    if etype == N.ETH_IPV4:
        return _checked(N.L_IPV4, pos, end)
    if etype == N.ETH_IPV6:
        return _checked(N.L_IPV6, pos, end)
    if etype == N.ETH_PPP:
        return _checked(N.L_PPP, pos, end)
    return N.L_NONE, pos, R.OK


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def parse_geneve(buf: Bytes, pos: Pos, end: Pos) -> Step:
    if pos + 8 > end:
        return N.L_NONE, pos, R.BAD_TUNNEL_HEADER
    return _by_ethertype(u16be(buf, pos + 2), pos + 8 + (buf[pos] & 0x3F) * 4, end)


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def parse_gre(buf: Bytes, pos: Pos, end: Pos) -> Step:
    """GRE (RFC 2784/2890) and PPTP's enhanced GRE (version 1, RFC 2637)."""
    if pos + 4 > end:
        return N.L_NONE, pos, R.BAD_TUNNEL_HEADER
    flags: cython.longlong = u16be(buf, pos)
    size: Pos = 4
    if flags & N.GRE_CSUM:
        size += 4
    if flags & N.GRE_KEY:
        size += 4
    if flags & N.GRE_SEQ:
        size += 4
    if flags & 7 == 1 and flags & N.GRE_ACK:
        size += 4
    return _by_ethertype(u16be(buf, pos + 2), pos + size, end)


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def parse_teredo(buf: Bytes, pos: Pos, end: Pos) -> Step:
    """Teredo (RFC 4380): optional authentication and origin indication, then IPv6."""
    if pos + 2 <= end and u16be(buf, pos) == 1:  # authentication header
        if pos + 4 > end:
            return N.L_NONE, pos, R.BAD_TUNNEL_HEADER
        pos += 4 + buf[pos + 2] + buf[pos + 3] + 8 + 1
    if pos + 2 <= end and u16be(buf, pos) == 0:  # origin indication
        pos += 8
    if pos < end and buf[pos] >> 4 == 6:
        return N.L_IPV6, pos, R.OK
    return N.L_NONE, pos, R.OK  # UDP to 3544 that is not an IPv6 packet: just UDP
