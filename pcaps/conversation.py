"""Conversations told packet by packet: peers on the capture's link, a timeline of packets, and
a TCP conversation (handshake, data both ways with delayed ACKs, FIN teardown) seen from the
client's side, times as the capture would see them.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, ip_address

from pcaps.capfile import Packet
from pcaps.frames import (
    ETH_IPV4,
    ETH_IPV6,
    IPPROTO_TCP,
    TH_ACK,
    TH_FIN,
    TH_PSH,
    TH_SYN,
    Addr,
    ethernet,
    ip,
    mac,
    tcp,
)

MS = 1_000_000
US = 1_000
GAP_NS = 121 * US
"""Wire time of a 1514-byte frame at 100 Mbit/s: back-to-back segments are this far apart."""


@dataclass
class Peer:
    """One end of a conversation as seen on the capture's link."""

    mac: bytes
    addr: Addr
    ttl: int
    padded: bool = True
    """Frames from a remote sender reach the capture padded to 60 bytes; the client's own don't."""
    ident: int = 0x1000
    """The IPv4 identification of its next packet."""

    def frame(
        self, to: Peer, proto: int, l4: bytes, vlan: int | None = None, ttl: int = 0
    ) -> bytes:
        """A layer-4 message from this peer to `to` in IP and Ethernet; `ttl`, when given,
        overrides this sender's usual one."""
        packet = ip(self.addr, to.addr, proto, l4, ttl or self.ttl, self.ident)
        if isinstance(self.addr, IPv4Address):
            self.ident = (self.ident + 1) & 0xFFFF
            return ethernet(to.mac, self.mac, ETH_IPV4, packet, vlan, self.padded)
        return ethernet(to.mac, self.mac, ETH_IPV6, packet, vlan, self.padded)


def peer(mac_text: str, addr: str, ttl: int, padded: bool = True) -> Peer:
    return Peer(mac(mac_text), ip_address(addr), ttl, padded)


class Capture:
    """Packets from every conversation, each with its own clock; sorted when written."""

    def __init__(self, steps: dict[int, int] | None = None) -> None:
        self.packets: list[Packet] = []
        self.steps = steps or {}
        """Interface -> the unit its clock keeps (US: microseconds), times floored to it."""

    def add(self, ts_ns: int, frame: bytes, iface: int = 0) -> None:
        step = self.steps.get(iface, 1)
        self.packets.append(Packet(ts_ns - ts_ns % step, frame, iface))

    def ordered(self) -> list[Packet]:
        return sorted(self.packets, key=lambda p: p.ts_ns)


class TcpFlow:
    """A TCP conversation seen from the client: handshake, data both ways, FIN/FIN teardown.

    A flow on a VLAN is seen on interface 1 (a trunk mirror); the others on interface 0.
    """

    def __init__(
        self,
        cap: Capture,
        rng: random.Random,
        client: Peer,
        server: Peer,
        ports: tuple[int, int],
        t_ns: int,
        rtt_ns: int,
        vlan: int | None = None,
    ) -> None:
        self.cap, self.rng, self.t, self.rtt, self.vlan = cap, rng, t_ns, rtt_ns, vlan
        self.ends = (client, server)
        self.ports = ports
        self.seq = [rng.getrandbits(32), rng.getrandbits(32)]
        self.mss = 1460 if isinstance(client.addr, IPv4Address) else 1440

    def _emit(
        self, t_ns: int, side: int, flags: int, payload: bytes = b"", options: bytes = b""
    ) -> None:
        sport, dport = self.ports if side == 0 else self.ports[::-1]
        ack = self.seq[1 - side] if flags & TH_ACK else 0
        seg = tcp(sport, dport, self.seq[side], ack, flags, (502, 501)[side], payload, options)
        frame = self.ends[side].frame(self.ends[1 - side], IPPROTO_TCP, seg, self.vlan)
        self.cap.add(t_ns, frame, 0 if self.vlan is None else 1)
        self.seq[side] = (
            self.seq[side] + len(payload) + (1 if flags & (TH_SYN | TH_FIN) else 0)
        ) & 0xFFFFFFFF

    def handshake(self) -> None:
        syn_opts = struct.pack("!BBHBBBBBBBB", 2, 4, self.mss, 1, 1, 4, 2, 1, 3, 3, 7)
        self._emit(self.t, 0, TH_SYN, options=syn_opts)
        self._emit(self.t + self.rtt, 1, TH_SYN | TH_ACK, options=syn_opts)
        self.t += self.rtt + 40 * US
        self._emit(self.t, 0, TH_ACK)

    def send(self, side: int, data: bytes, start_ns: int) -> int:
        """Segment `data` from `side`; the other side ACKs every second segment.

        Times are capture times at the client: an ACK from the server shows one RTT after the
        segment it acknowledges. Returns the time of the last segment.
        """
        chunks = [data[i : i + self.mss] for i in range(0, len(data), self.mss)]
        t = start_ns
        for i, chunk in enumerate(chunks):
            t = start_ns + i * GAP_NS + self.rng.randrange(0, 3 * US)
            last = i == len(chunks) - 1
            self._emit(t, side, TH_ACK | (TH_PSH if last else 0), chunk)
            if i % 2 == 1 or last:
                self._emit(t + (self.rtt if side == 0 else 30 * US), 1 - side, TH_ACK)
        return t

    def exchange(self, request: bytes, response: bytes, think_ns: int, server_ns: int) -> None:
        """The client sends `request` after `think_ns`; the response follows one RTT later."""
        sent = self.send(0, request, self.t + think_ns)
        self.t = self.send(1, response, sent + self.rtt + server_ns) + 60 * US

    def close(self, idle_ns: int) -> None:
        self.t += idle_ns
        self._emit(self.t, 0, TH_FIN | TH_ACK)
        self._emit(self.t + self.rtt, 1, TH_FIN | TH_ACK)
        self._emit(self.t + self.rtt + 35 * US, 0, TH_ACK)
