"""Community ID v1 (corelight/community-id-spec): one string per conversation, the same from
both directions and from every tool that implements the spec, so residency's flows join with
Zeek, Suricata and Elastic data, and two flow logs of one connection find each other.

The hash is SHA-1 over seed (2 bytes) . lower address . higher address . proto . 0 . lower
port . higher port, all big-endian, the endpoints ordered so the smaller (address, port) comes
first. ICMP and ICMPv6 have no ports: the type takes the source port's place and, for a type
with a reply (echo, timestamp, neighbour solicitation ...), the reply's type the destination
port's, so a request and its reply share an ID; any other type is one-way, keeps its order,
and its code is the destination port. Other protocols without ports hash no ports at all.
ICMP is given here as conventional in flow records (Zeek, NetFlow): sport = type, dport = code.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from functools import lru_cache
from ipaddress import ip_address
from socket import AF_INET, AF_INET6, inet_pton

PORTED = frozenset({6, 17, 132})
"""TCP, UDP and SCTP: the protocols whose ports enter the hash."""
ICMP, ICMP6 = 1, 58

_ICMP_PAIRS = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10, 17: 18, 18: 17}
"""ICMPv4 type -> its counterpart (echo, timestamp, information, router, address mask)."""
_ICMP6_PAIRS = {
    128: 129, 129: 128, 130: 131, 131: 130, 133: 134, 134: 133,
    135: 136, 136: 135, 139: 140, 140: 139, 144: 145, 145: 144,
}  # fmt: skip
"""ICMPv6 type -> its counterpart (echo, MLD, router and neighbour discovery, node
information, home agent discovery)."""


@lru_cache(maxsize=65536)
def _packed(address: str) -> bytes:
    try:
        return inet_pton(AF_INET6 if ":" in address else AF_INET, address)
    except OSError:  # a scoped IPv6 address (fe80::1%eth0), say
        return ip_address(address).packed


def community_id(
    proto: int, src: str, sport: int, dst: str, dport: int, *, seed: int = 0, b64: bool = True
) -> str:
    """`1:` and the base64 (or, with `b64=False`, hex) SHA-1 of the ordered tuple."""
    saddr, daddr = _packed(src), _packed(dst)
    one_way = False
    if proto in (ICMP, ICMP6):
        pairs = _ICMP_PAIRS if proto == ICMP else _ICMP6_PAIRS
        counterpart = pairs.get(sport)
        one_way = counterpart is None
        dport = dport if counterpart is None else counterpart
    if not one_way and (daddr, dport) < (saddr, sport):
        saddr, daddr, sport, dport = daddr, saddr, dport, sport
    data = struct.pack("!H", seed) + saddr + daddr + struct.pack("!BB", proto, 0)
    if proto in PORTED or proto in (ICMP, ICMP6):
        data += struct.pack("!HH", sport, dport)
    digest = hashlib.sha1(data).digest()
    return "1:" + (base64.b64encode(digest).decode() if b64 else digest.hex())
