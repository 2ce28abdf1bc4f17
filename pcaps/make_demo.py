"""Write pcaps/demo.pcapng and pcaps/demo.pcap: the synthetic capture behind `make demo`.

Why synthetic: a real capture of a real phone cannot be shipped, and the demo must tell one clear
story that a regulator can follow. A US client (10.20.0.15, 2001:db8:20::15) runs an app that
talks to Oracle Cloud us-ashburn-1 and an AWS us-east-1 CDN, as it should, and also uploads to a
Singapore address, which the tool must catch. Every run writes the same bytes: fixed seed, fixed
timestamps from 2026-03-02T14:00:00Z, no clock reads.

Why by hand with struct: the containers are part of what is tested. demo.pcapng is little-endian
with one section and two Ethernet interfaces: eth0 with if_tsresol 9 (nanoseconds, sub-microsecond
digits used) and eth1, a trunk mirror with VLAN-tagged frames, at the default microseconds.
demo.pcap holds the same frames in order as classic microsecond pcap (nanoseconds truncated).

The public addresses were chosen from the providers' published ranges, as of the range files in
../shared/ranges (checked there, not copied):
  150.136.12.34        OCI us-ashburn-1     150.136.0.0/16   oci-public_ip_ranges.json 2025-07-31
  129.213.8.10         OCI us-ashburn-1     129.213.8.0/21   (same file)
  161.118.192.20       OCI ap-singapore-1   161.118.192.0/18 (same file; DB-IP says SG too)
  3.80.0.20, 3.80.0.21 AWS us-east-1 EC2    3.80.0.0/12      aws-ip-ranges.json 2026-08-22
  2600:1f18:4000::20   AWS us-east-1 EC2    2600:1f18::/33   (same file)
10.20.0.0/24 and 2001:db8:20::/64 (documentation space) are the client's LAN. The traffic is
invented: no operator sent it, and the names only serve the story.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
SEED = 20260302
START_NS = int(datetime(2026, 3, 2, 14, 0, 0, tzinfo=UTC).timestamp()) * 10**9
SNAPLEN = 262144
LINKTYPE_ETHERNET = 1
ETH_IPV4, ETH_ARP, ETH_VLAN, ETH_IPV6 = 0x0800, 0x0806, 0x8100, 0x86DD
IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP = 1, 6, 17
TH_FIN, TH_SYN, TH_PSH, TH_ACK = 0x01, 0x02, 0x08, 0x10
MS = 1_000_000
US = 1_000
GAP_NS = 121 * US
"""Wire time of a 1514-byte frame at 100 Mbit/s: back-to-back segments are this far apart."""

Addr = IPv4Address | IPv6Address


class Packet(NamedTuple):
    ts_ns: int
    iface: int
    frame: bytes


@dataclass
class Peer:
    """One end of a conversation as seen on the client's link."""

    mac: bytes
    addr: Addr
    ttl: int
    padded: bool = True
    """Frames from a remote sender reach the capture padded to 60 bytes; the client's own don't."""
    ident: int = 0x1000


def mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def peer(mac_text: str, addr: str, ttl: int, padded: bool = True) -> Peer:
    return Peer(mac(mac_text), ip_address(addr), ttl, padded)


def csum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def with_csum(l4: bytes, at: int, pseudo: bytes) -> bytes:
    value = csum(pseudo + l4) or (0xFFFF if at == 6 else 0)
    return l4[:at] + struct.pack("!H", value) + l4[at + 2 :]


def ethernet(
    dst: bytes,
    src: bytes,
    etype: int,
    payload: bytes,
    vlan: int | None = None,
    padded: bool = False,
) -> bytes:
    tag = struct.pack("!HH", ETH_VLAN, vlan) if vlan is not None else b""
    frame = dst + src + tag + struct.pack("!H", etype) + payload
    return frame + bytes(max(0, 60 - len(frame))) if padded else frame


def ip_frame(src: Peer, dst: Peer, proto: int, l4: bytes, vlan: int | None = None) -> bytes:
    """Wrap a layer-4 message (checksum field zero) in IPv4 or IPv6 and Ethernet."""
    at = {IPPROTO_TCP: 16, IPPROTO_UDP: 6, IPPROTO_ICMP: 2}[proto]
    if isinstance(src.addr, IPv4Address):
        pseudo = src.addr.packed + dst.addr.packed + struct.pack("!xBH", proto, len(l4))
        l4 = with_csum(l4, at, b"" if proto == IPPROTO_ICMP else pseudo)
        head = struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            20 + len(l4),
            src.ident,
            0x4000,
            src.ttl,
            proto,
            0,
            src.addr.packed,
            dst.addr.packed,
        )
        head = head[:10] + struct.pack("!H", csum(head)) + head[12:]
        src.ident = (src.ident + 1) & 0xFFFF
        return ethernet(dst.mac, src.mac, ETH_IPV4, head + l4, vlan, src.padded)
    pseudo = src.addr.packed + dst.addr.packed + struct.pack("!I3xB", len(l4), proto)
    l4 = with_csum(l4, at, pseudo)
    head = struct.pack(
        "!IHBB16s16s", 6 << 28, len(l4), proto, src.ttl, src.addr.packed, dst.addr.packed
    )
    return ethernet(dst.mac, src.mac, ETH_IPV6, head + l4, vlan, src.padded)


def udp(sport: int, dport: int, payload: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def tcp(
    sport: int,
    dport: int,
    seq: int,
    ack: int,
    flags: int,
    window: int,
    payload: bytes = b"",
    options: bytes = b"",
) -> bytes:
    offset = (20 + len(options)) // 4 << 4
    head = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, offset, flags, window, 0, 0)
    return head + options + payload


class Capture:
    """Packets from every conversation, each with its own clock; sorted when written."""

    def __init__(self) -> None:
        self.packets: list[Packet] = []

    def add(self, ts_ns: int, frame: bytes, iface: int = 0) -> None:
        if iface == 1:
            ts_ns -= ts_ns % US  # eth1 keeps microseconds only
        self.packets.append(Packet(ts_ns, iface, frame))

    def ordered(self) -> list[Packet]:
        return sorted(self.packets, key=lambda p: p.ts_ns)


class TcpFlow:
    """A TCP conversation seen from the client: handshake, data both ways, FIN/FIN teardown."""

    def __init__(
        self,
        cap: Capture,
        rng: random.Random,
        client: Peer,
        server: Peer,
        ports: tuple[int, int],
        t_ns: int,
        rtt_ns: int,
    ) -> None:
        self.cap, self.rng, self.t, self.rtt = cap, rng, t_ns, rtt_ns
        self.ends = (client, server)
        self.ports = ports
        self.seq = [rng.getrandbits(32), rng.getrandbits(32)]
        self.mss = 1460 if isinstance(client.addr, IPv4Address) else 1440

    def _emit(
        self, t_ns: int, side: int, flags: int, payload: bytes = b"", options: bytes = b""
    ) -> None:
        sport, dport = self.ports if side == 0 else self.ports[::-1]
        window = (502, 501)[side]
        seg = tcp(
            sport,
            dport,
            self.seq[side],
            self.seq[1 - side] if flags & TH_ACK else 0,
            flags,
            window,
            payload,
            options,
        )
        self.cap.add(t_ns, ip_frame(self.ends[side], self.ends[1 - side], IPPROTO_TCP, seg))
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


def tls_record(ctype: int, body: bytes, version: int = 0x0303) -> bytes:
    return struct.pack("!BHH", ctype, version, len(body)) + body


def tls_ext(etype: int, body: bytes) -> bytes:
    return struct.pack("!HH", etype, len(body)) + body


def vec(body: bytes, width: int = 2) -> bytes:
    return len(body).to_bytes(width, "big") + body


def client_hello(sni: str, rng: random.Random) -> bytes:
    """A TLS 1.3 ClientHello record, shaped like a browser's (padded to 512 bytes)."""
    name = sni.encode()
    exts = b"".join(
        [
            tls_ext(0, vec(b"\0" + vec(name))),
            tls_ext(23, b""),
            tls_ext(65281, b"\0"),
            tls_ext(10, vec(struct.pack("!4H", 0x001D, 0x0017, 0x0018, 0x0019))),
            tls_ext(11, vec(b"\0", 1)),
            tls_ext(16, vec(vec(b"h2", 1) + vec(b"http/1.1", 1))),
            tls_ext(
                13,
                vec(
                    struct.pack(
                        "!8H", 0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601
                    )
                ),
            ),
            tls_ext(51, vec(struct.pack("!HH", 0x001D, 32) + rng.randbytes(32))),
            tls_ext(45, vec(b"\1", 1)),
            tls_ext(43, vec(struct.pack("!2H", 0x0304, 0x0303), 1)),
        ]
    )
    suites = vec(
        struct.pack("!9H", 0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8)
    )
    fixed = struct.pack("!H", 0x0303) + rng.randbytes(32) + vec(rng.randbytes(32), 1) + suites
    fixed += vec(b"\0", 1)
    pad = 512 - 4 - 5 - len(fixed) - 2 - len(exts) - 4
    exts += tls_ext(21, bytes(max(pad, 0)))
    hello = fixed + vec(exts)
    return tls_record(22, b"\1" + vec(hello, 3), 0x0301)


def server_flight(rng: random.Random, encrypted: int) -> bytes:
    """ServerHello, ChangeCipherSpec, then the encrypted certificate flight as application data."""
    share = struct.pack("!HH", 0x001D, 32) + rng.randbytes(32)
    exts = tls_ext(43, b"\x03\x04") + tls_ext(51, share)
    hello = struct.pack("!H", 0x0303) + rng.randbytes(32) + vec(rng.randbytes(32), 1)
    hello += struct.pack("!HB", 0x1301, 0) + vec(exts)
    return tls_record(22, b"\2" + vec(hello, 3)) + tls_record(20, b"\1") + app_data(rng, encrypted)


def app_data(rng: random.Random, size: int) -> bytes:
    """`size` bytes of TLS application-data records (at most 16 KiB + tag each)."""
    out = []
    while size > 0:
        body = min(size - 5, 16401) if size > 5 else 1
        out.append(tls_record(23, rng.randbytes(body)))
        size -= 5 + body
    return b"".join(out)


def tls_session(flow: TcpFlow, sni: str, exchanges: list[tuple[int, int]]) -> None:
    """Handshake, TLS 1.3 with `sni`, one exchange per (request, response) size, teardown."""
    rng = flow.rng
    flow.handshake()
    flow.exchange(
        client_hello(sni, rng), server_flight(rng, rng.randrange(2800, 4200)), 50 * US, MS
    )
    finished = tls_record(20, b"\1") + app_data(rng, 58)
    for i, (req, resp) in enumerate(exchanges):
        think = 300 * US if i == 0 else rng.randrange(150, 1800) * MS
        flow.exchange(
            (finished if i == 0 else b"") + app_data(rng, req),
            app_data(rng, resp),
            think,
            rng.randrange(2, 40) * MS,
        )
    flow.close(rng.randrange(800, 2500) * MS)


def dns_name(name: str) -> bytes:
    return b"".join(vec(label.encode(), 1) for label in name.split(".")) + b"\0"


def dns_message(txid: int, qname: str, qtype: int, answers: list[tuple[int, str]] | None) -> bytes:
    """A query (`answers` None) or a response whose records chain by compression pointers.

    Each answer is (type, value): 1 A, 28 AAAA, 5 CNAME. A CNAME's target owns the next record.
    """
    answers, flags = ([], 0x0100) if answers is None else (answers, 0x8180)
    out = struct.pack("!6H", txid, flags, 1, len(answers), 0, 0)
    owner = len(out)
    out += dns_name(qname) + struct.pack("!HH", qtype, 1)
    for rtype, value in answers:
        rdata = ip_address(value).packed if rtype in (1, 28) else dns_name(value)
        out += struct.pack(
            "!HHHIH", 0xC000 | owner, rtype, 1, 300 if rtype == 5 else 60, len(rdata)
        )
        if rtype == 5:
            owner = len(out)
        out += rdata
    return out


def dns(
    cap: Capture,
    rng: random.Random,
    t_ns: int,
    client: Peer,
    resolver: Peer,
    qname: str,
    qtype: int,
    answers: list[tuple[int, str]],
    vlan: int | None = None,
) -> int:
    """One query and its answer over UDP 53; returns the time of the answer."""
    sport, txid = rng.randrange(32768, 61000), rng.getrandbits(16)
    iface = 0 if vlan is None else 1
    query = udp(sport, 53, dns_message(txid, qname, qtype, None))
    cap.add(t_ns, ip_frame(client, resolver, IPPROTO_UDP, query, vlan), iface)
    answer = udp(53, sport, dns_message(txid, qname, qtype, answers))
    t_ns += rng.randrange(400, 2500) * US
    cap.add(t_ns, ip_frame(resolver, client, IPPROTO_UDP, answer, vlan), iface)
    return t_ns


def quic_long(ptype: int, dcid: bytes, scid: bytes, size: int, rng: random.Random) -> bytes:
    """A QUIC v1 long-header packet of `size` bytes; the protected part is random bytes."""
    head = struct.pack("!BI", 0xC3 | ptype << 4, 1) + vec(dcid, 1) + vec(scid, 1)
    if ptype == 0:
        head += b"\0"  # token length
    rest = size - len(head) - 2
    return head + struct.pack("!H", 0x4000 | rest) + rng.randbytes(rest)


def quic_session(
    cap: Capture, rng: random.Random, client: Peer, server: Peer, t_ns: int, rtt_ns: int
) -> None:
    """Initial/Handshake exchange, a 1-RTT download with ACKs, on UDP 443."""
    sport = rng.randrange(49152, 65535)
    ccid, scid = rng.randbytes(8), rng.randbytes(8)

    def send(t: int, side: int, payload: bytes) -> None:
        ports = (sport, 443) if side == 0 else (443, sport)
        ends = (client, server) if side == 0 else (server, client)
        cap.add(t, ip_frame(ends[0], ends[1], IPPROTO_UDP, udp(*ports, payload)))

    def short(cid: bytes, size: int) -> bytes:
        return bytes([0x40 | rng.getrandbits(5)]) + cid + rng.randbytes(size - 1 - len(cid))

    dcid = rng.randbytes(8)
    send(t_ns, 0, quic_long(0, dcid, ccid, 1200, rng))
    t_ns += rtt_ns
    send(t_ns, 1, quic_long(0, ccid, scid, 1200, rng))
    send(t_ns + GAP_NS, 1, quic_long(2, ccid, scid, 1200, rng))
    send(t_ns + 2 * GAP_NS, 1, quic_long(2, ccid, scid, 1100, rng))
    t_ns += 2 * GAP_NS + 400 * US
    send(t_ns, 0, quic_long(0, scid, ccid, 1200, rng))
    send(t_ns + 50 * US, 0, short(scid, 180))
    t_ns += rtt_ns
    for burst in range(3):
        for i in range(8):
            send(t_ns + i * GAP_NS, 1, short(ccid, 1252))
            if i % 2:
                send(t_ns + i * GAP_NS + 40 * US, 0, short(scid, 40))
        t_ns += rng.randrange(300, 900) * MS if burst < 2 else 8 * GAP_NS
    send(t_ns + 20 * MS, 0, short(scid, 45))
    send(t_ns + 20 * MS + rtt_ns, 1, short(ccid, 35))


def http_get(flow: TcpFlow, host: str, path: str, body: int) -> None:
    """HTTP/1.1 over TCP 80: one GET with a Host header and an octet-stream response."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: okhttp/4.12.0\r\n"
        "Accept: */*\r\nAccept-Encoding: gzip\r\nConnection: keep-alive\r\n\r\n"
    )
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {body}\r\nCache-Control: max-age=86400\r\n"
        "Date: Mon, 02 Mar 2026 14:00:03 GMT\r\n\r\n"
    )
    flow.handshake()
    flow.exchange(request.encode(), head.encode() + flow.rng.randbytes(body), 0, 6 * MS)
    flow.close(1500 * MS)


def arp(cap: Capture, t_ns: int, asker: Peer, owner: Peer) -> None:
    """Who-has `owner` from `asker`, and the reply."""

    def body(op: int, smac: bytes, sip: Addr, tmac: bytes, tip: Addr) -> bytes:
        return struct.pack(
            "!HHBBH6s4s6s4s", 1, ETH_IPV4, 6, 4, op, smac, sip.packed, tmac, tip.packed
        )

    bcast = b"\xff" * 6
    ask = body(1, asker.mac, asker.addr, bytes(6), owner.addr) + bytes(18)
    cap.add(t_ns, ethernet(bcast, asker.mac, ETH_ARP, ask))
    tell = body(2, owner.mac, owner.addr, asker.mac, asker.addr) + bytes(18)
    cap.add(t_ns + 310 * US, ethernet(asker.mac, owner.mac, ETH_ARP, tell))


def ping(cap: Capture, t_ns: int, src: Peer, dst: Peer, rtt_ns: int, count: int) -> None:
    """ICMP echo request/reply pairs, one a second, with a 56-byte payload."""
    for seq in range(1, count + 1):
        data = bytes(range(56))
        cap.add(
            t_ns, ip_frame(src, dst, IPPROTO_ICMP, struct.pack("!BBHHH", 8, 0, 0, 0x51, seq) + data)
        )
        cap.add(
            t_ns + rtt_ns,
            ip_frame(dst, src, IPPROTO_ICMP, struct.pack("!BBHHH", 0, 0, 0, 0x51, seq) + data),
        )
        t_ns += 1000 * MS


def story(rng: random.Random) -> Capture:
    """The demo: an app on a US client, and one upload to Singapore among compliant flows."""
    cap = Capture()
    gw_mac = "02:00:0a:14:00:01"
    client = peer("02:00:0a:14:00:0f", "10.20.0.15", 64, padded=False)
    client6 = peer("02:00:0a:14:00:0f", "2001:db8:20::15", 64, padded=False)
    gateway = peer(gw_mac, "10.20.0.1", 64)
    resolver = peer("02:00:0a:14:00:02", "10.20.0.2", 64)
    tv = peer("02:00:0a:14:00:25", "10.20.0.37", 64, padded=False)
    api = peer(gw_mac, "150.136.12.34", 49)
    log = peer(gw_mac, "129.213.8.10", 49)
    cdn = peer(gw_mac, "3.80.0.20", 238)
    img = peer(gw_mac, "3.80.0.21", 238)
    im6 = peer(gw_mac, "2600:1f18:4000::20", 54)
    sg = peer(gw_mac, "161.118.192.20", 45)
    t0 = START_NS + 137_482_913  # sub-microsecond digits on purpose: eth0 is nanosecond

    def port() -> int:
        return rng.randrange(49152, 65535)

    def lookup(
        t: int,
        name: str,
        qtype: int,
        answers: list[tuple[int, str]],
        asker: Peer = client,
        vlan: int | None = None,
    ) -> int:
        return dns(cap, rng, t, asker, resolver, name, qtype, answers, vlan)

    arp(cap, t0, client, gateway)
    t = lookup(t0 + 21 * MS, "api.tiktokv.us", 1, [(1, str(api.addr))])
    lookup(t0 + 21 * MS + 90 * US, "api.tiktokv.us", 28, [])
    api_flow = TcpFlow(cap, rng, client, api, (port(), 443), t + 2 * MS, 11 * MS)
    exchanges = [(620, 4800), (910, 12800), (540, 2300), (1800, 6400), (480, 900)]
    tls_session(api_flow, "api.tiktokv.us", exchanges)
    ping(cap, t0 + 400 * MS, client, api, 11 * MS, 2)

    cname = (5, "v16m-useast1.tiktokcdn-us.com")
    t = lookup(t0 + 1200 * MS, "v16m.tiktokcdn-us.com", 1, [cname, (1, str(cdn.addr))])
    video = TcpFlow(cap, rng, client, cdn, (port(), 443), t + 1 * MS, 4 * MS)
    tls_session(video, "v16m.tiktokcdn-us.com", [(760, 152_000), (690, 48_000)])

    t = lookup(t0 + 3100 * MS, "p16-sign.tiktokcdn-us.com", 1, [(1, str(img.addr))])
    thumb = TcpFlow(cap, rng, client, img, (port(), 80), t + MS, 4 * MS)
    http_get(thumb, "p16-sign.tiktokcdn-us.com", "/obj/tos-useast5-p-0068-tx/thumb-7342.jpeg", 9200)

    t = lookup(t0 + 4200 * MS, "im.tiktokv.us", 28, [(28, str(im6.addr))])
    im = TcpFlow(cap, rng, client6, im6, (port(), 443), t + MS, 6 * MS)
    tls_session(im, "im.tiktokv.us", [(350, 1200), (420, 9800), (300, 640)])

    t = lookup(t0 + 5300 * MS, "log.tiktokv.us", 1, [(1, str(log.addr))])
    quic_session(cap, rng, client, log, t + MS, 11 * MS)

    t = lookup(t0 + 6500 * MS, "api.tiktokv.us", 1, [(1, str(api.addr))], tv, vlan=20)
    lookup(t + 80 * US, "api.tiktokv.us", 28, [], tv, vlan=20)

    t = lookup(t0 + 8200 * MS, "sg-backup.bytedance.example", 1, [(1, str(sg.addr))])
    backup = TcpFlow(cap, rng, client, sg, (port(), 443), t + MS, 228 * MS)
    tls_session(backup, "sg-backup.bytedance.example", [(64_000, 420), (18_000, 420)])
    return cap


def option(code: int, value: bytes) -> bytes:
    pad = -len(value) % 4
    return struct.pack("<HH", code, len(value)) + value + bytes(pad)


def block(btype: int, body: bytes) -> bytes:
    body += bytes(-len(body) % 4)
    size = len(body) + 12
    return struct.pack("<II", btype, size) + body + struct.pack("<I", size)


def write_pcapng(path: Path, packets: list[Packet]) -> None:
    """One section, eth0 at nanoseconds and eth1 at the default microseconds, then EPBs."""
    end = option(0, b"")
    shb = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + option(2, b"residency demo generator")
    shb += option(3, b"Linux") + option(4, b"pcaps/make_demo.py") + end
    eth0 = struct.pack("<HHI", LINKTYPE_ETHERNET, 0, SNAPLEN) + option(2, b"eth0")
    eth0 += option(3, b"client access port") + option(9, b"\x09") + end
    eth1 = struct.pack("<HHI", LINKTYPE_ETHERNET, 0, SNAPLEN) + option(2, b"eth1")
    eth1 += option(3, b"trunk mirror, VLAN 20") + end
    out = [block(0x0A0D0D0A, shb), block(1, eth0), block(1, eth1)]
    for ts_ns, iface, frame in packets:
        ts = ts_ns if iface == 0 else ts_ns // US
        head = struct.pack("<IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, len(frame), len(frame))
        out.append(block(6, head + frame))
    path.write_bytes(b"".join(out))


def write_pcap(path: Path, packets: list[Packet]) -> None:
    """Classic little-endian pcap at microseconds."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, LINKTYPE_ETHERNET)]
    for ts_ns, _iface, frame in packets:
        sec, usec = divmod(ts_ns // US, 1_000_000)
        out.append(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(out))


def main() -> None:
    packets = story(random.Random(SEED)).ordered()
    write_pcapng(HERE / "demo.pcapng", packets)
    write_pcap(HERE / "demo.pcap", packets)
    print(f"wrote {len(packets)} packets to {HERE / 'demo.pcapng'} and {HERE / 'demo.pcap'}")


if __name__ == "__main__":
    main()
