"""Frames, header by header: Ethernet (with an 802.1Q tag), ARP, IPv4 and IPv6, TCP, UDP and ICMP
echo, every checksum correct (RFC 1071), so tshark calls nothing malformed.

A layer-4 message is built with its checksum field zero; `ip` fills it in from the pseudo-header
it alone knows (ICMP over IPv4 has none).
"""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address
from typing import TypeVar

import numpy as np
import numpy.typing as npt

Addr = IPv4Address | IPv6Address
Sum = TypeVar("Sum", int, npt.NDArray[np.int64])

ETH_IPV4, ETH_ARP, ETH_VLAN, ETH_IPV6 = 0x0800, 0x0806, 0x8100, 0x86DD
IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP = 1, 6, 17
TH_FIN, TH_SYN, TH_RST, TH_PSH, TH_ACK = 0x01, 0x02, 0x04, 0x08, 0x10
CHECKSUM_AT = {IPPROTO_TCP: 16, IPPROTO_UDP: 6, IPPROTO_ICMP: 2}
"""Where each layer-4 header keeps its checksum."""
BROADCAST = b"\xff" * 6


def mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def word_sum(data: bytes) -> int:
    """The sum of `data`'s 16-bit words, an odd last byte padded: its share of a checksum."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    return total


def fold(total: Sum) -> Sum:
    """The Internet checksum of words that add up to `total` (below 2^64): for one sum or for a
    column of them."""
    for _ in range(4):
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def csum(data: bytes) -> int:
    return fold(word_sum(data))


def ethernet(dst: bytes, src: bytes, etype: int, payload: bytes, vlan: int | None = None,
             padded: bool = False) -> bytes:  # fmt: skip
    """An Ethernet II frame, 802.1Q-tagged when `vlan` is given; `padded` to 60 bytes as a frame
    that crossed a wire reaches the capture (a host's own outgoing frames are not)."""
    tag = struct.pack("!HH", ETH_VLAN, vlan) if vlan is not None else b""
    frame = dst + src + tag + struct.pack("!H", etype) + payload
    return frame + bytes(max(0, 60 - len(frame))) if padded else frame


def ip(src: Addr, dst: Addr, proto: int, l4: bytes, ttl: int = 64, ident: int = 0,
       label: int = 0) -> bytes:  # fmt: skip
    """An IPv4 packet (don't fragment, `ident`) or an IPv6 one (flow `label`), by the addresses'
    family, around `l4` with its checksum filled in. A UDP checksum of 0 is sent as 0xFFFF."""
    if isinstance(src, IPv4Address):
        pseudo = src.packed + dst.packed + struct.pack("!xBH", proto, len(l4))
        l4 = _with_checksum(l4, proto, b"" if proto == IPPROTO_ICMP else pseudo)
        head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident, 0x4000, ttl, proto, 0,
                           src.packed, dst.packed)  # fmt: skip
        return head[:10] + struct.pack("!H", csum(head)) + head[12:] + l4
    pseudo = src.packed + dst.packed + struct.pack("!I3xB", len(l4), proto)
    l4 = _with_checksum(l4, proto, pseudo)
    head = struct.pack("!IHBB", 6 << 28 | label, len(l4), proto, ttl)
    return head + src.packed + dst.packed + l4


def _with_checksum(l4: bytes, proto: int, pseudo: bytes) -> bytes:
    at = CHECKSUM_AT[proto]
    value = csum(pseudo + l4) or (0xFFFF if proto == IPPROTO_UDP else 0)
    return l4[:at] + struct.pack("!H", value) + l4[at + 2 :]


def tcp(sport: int, dport: int, seq: int, ack: int, flags: int, window: int, payload: bytes = b"",
        options: bytes = b"") -> bytes:  # fmt: skip
    offset = (20 + len(options)) // 4 << 4
    head = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, offset, flags, window, 0, 0)
    return head + options + payload


def udp(sport: int, dport: int, payload: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def icmp_echo(ident: int, seq: int, data: bytes, reply: bool = False) -> bytes:
    """An ICMP echo request (or reply) over IPv4."""
    return struct.pack("!BBHHH", 0 if reply else 8, 0, 0, ident, seq) + data


def arp(op: int, smac: bytes, sip: Addr, tmac: bytes, tip: Addr) -> bytes:
    """An ARP message for IPv4 over Ethernet (op 1 request, 2 reply), padded as on the wire."""
    body = struct.pack("!HHBBH6s4s6s4s", 1, ETH_IPV4, 6, 4, op, smac, sip.packed, tmac, tip.packed)
    return body + bytes(18)
