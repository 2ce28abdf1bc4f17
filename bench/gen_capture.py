"""Generate a large, realistic capture fast, as pcap and pcapng, for bench_flows.py.

Why vectorised: the benchmark needs millions of packets, and a Python step per packet would make
the generator slower than the tools it measures. So flows are drawn from a few hundred templates
(TCP sessions over TLS or HTTP, DNS, QUIC-like UDP, ICMP echo; IPv4 and IPv6; some 802.1Q
tagged), a template is simulated once in Python, and every header field of every packet is then
written column-wise with numpy. Checksums are correct, TLS and HTTP payloads are framed as real
records, so tshark sees no malformed packet. Same seed, same bytes.

Layout in a file: frames are built once into one buffer whose payload is a fixed random pattern
(`pattern[pos % PERIOD]`), headers are copied over it, and each format's records are then laid
out around the same frames, a chunk of packets at a time. The many small copies are grouped
into fancy-indexed numpy copies (`copy_slices`); everything else is numpy too.
"""

from __future__ import annotations

import argparse
import struct
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

if not __package__:  # run as a script, `python bench/gen_capture.py`: the repository's packages
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pcaps import capfile  # noqa: E402
from pcaps.capfile import copy_rows, copy_slices  # noqa: E402
from pcaps.frames import (  # noqa: E402
    CHECKSUM_AT,
    ETH_IPV4,
    ETH_IPV6,
    ETH_VLAN,
    IPPROTO_ICMP,
    IPPROTO_TCP,
    IPPROTO_UDP,
    TH_ACK,
    TH_FIN,
    TH_PSH,
    TH_RST,
    TH_SYN,
    fold,
    word_sum,
)
from pcaps.messages import dns_message, tls_ext, tls_record, vec  # noqa: E402

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]
Rng = np.random.Generator
Flows = dict[str, npt.NDArray[Any]]

OUT = Path(__file__).resolve().parent / "out"
SEED = 7
START_US = int(datetime(2026, 3, 2, 14, tzinfo=UTC).timestamp()) * 1_000_000
RATE_PPS = 15_000
"""Packets per second of capture time: about a busy 100 Mbit/s uplink."""
PERIOD = 1 << 16
"""Length of the random payload pattern; even, so the checksum arithmetic below holds."""
CHUNK = 400_000
"""Packets serialised at once: the byte buffers stay a few hundred MB whatever --packets is."""
VARIANTS = 256
"""Per-flow choices of SNI, DNS name, HTTP host and QUIC connection ids."""
MS, US, GAP = 1_000_000, 1_000, 121_000
"""Nanoseconds; GAP is the wire time of a 1514-byte frame at 100 Mbit/s."""
SYN_OPTS = {
    v: struct.pack("!BBH8B", 2, 4, mss, 1, 1, 4, 2, 1, 3, 3, 7) for v, mss in ((4, 1460), (6, 1440))
}
"""MSS 1460/1440, SACK permitted, window scale 7: the options of a Linux SYN without timestamps."""
GATEWAY_MAC = bytes.fromhex("001c73000001")


# ----------------------------------------------------------------------------- app payloads


class Apps:
    """Payload prefixes (TLS records, DNS messages, HTTP heads ...) and per-flow variant slots."""

    def __init__(self) -> None:
        self.blobs: list[bytes] = []
        self.ids: dict[bytes, int] = {}
        self.slots: list[list[int]] = [[-1]]
        self.dns: set[int] = set()

    def blob(self, data: bytes, dns: bool = False) -> int:
        if data not in self.ids:
            self.ids[data] = len(self.blobs)
            self.blobs.append(data)
        if dns:
            self.dns.add(self.ids[data])
        return self.ids[data]

    def slot(self, blobs: list[bytes], dns: bool = False) -> int:
        """A slot picks one of `blobs` by the flow's variant; equal lengths keep TCP seqs fixed."""
        self.slots.append([self.blob(b, dns) for b in blobs])
        return len(self.slots) - 1

    def table(self) -> AppTable:
        lens = np.array([len(b) for b in self.blobs], dtype=np.int64)
        is_dns = np.zeros(len(self.blobs), dtype=bool)
        is_dns[list(self.dns)] = True
        return AppTable(
            slot_app=np.array([[s[v % len(s)] for v in range(VARIANTS)] for s in self.slots]),
            data=np.frombuffer(b"".join(self.blobs), dtype=np.uint8),
            offset=np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64),
            length=lens,
            word_sum=np.array([word_sum(b) for b in self.blobs], dtype=np.int64),
            dns=is_dns,
        )


@dataclass(frozen=True)
class AppTable:
    """The apps as arrays, for the vectorised writer."""

    slot_app: I64
    """(slot, flow variant) -> app id, -1 for none."""
    data: U8
    offset: I64
    length: I64
    word_sum: I64
    """Sum of the app's 16-bit words: its share of the TCP/UDP checksum."""
    dns: npt.NDArray[np.bool_]
    """Apps whose first two bytes are the flow's DNS transaction id."""


def client_hello(sni: str, rng: Rng) -> bytes:
    """A TLS 1.3 ClientHello of exactly 517 bytes (the padding extension takes up the rest)."""
    exts = b"".join(
        [
            tls_ext(0, vec(b"\0" + vec(sni.encode()))),
            tls_ext(23, b""),
            tls_ext(10, vec(struct.pack("!3H", 0x001D, 0x0017, 0x0018))),
            tls_ext(11, vec(b"\0", 1)),
            tls_ext(16, vec(vec(b"h2", 1) + vec(b"http/1.1", 1))),
            tls_ext(13, vec(struct.pack("!5H", 0x0403, 0x0804, 0x0401, 0x0503, 0x0805))),
            tls_ext(51, vec(struct.pack("!HH", 0x001D, 32) + rng.bytes(32))),
            tls_ext(45, vec(b"\1", 1)),
            tls_ext(43, vec(struct.pack("!2H", 0x0304, 0x0303), 1)),
        ]
    )
    suites = vec(struct.pack("!5H", 0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F))
    fixed = b"\x03\x03" + rng.bytes(32) + vec(rng.bytes(32), 1) + suites + b"\1\0"
    pad = 517 - 5 - 4 - len(fixed) - 2 - len(exts) - 4
    hello = fixed + vec(exts + tls_ext(21, bytes(pad)))
    return tls_record(22, b"\1" + vec(hello, 3), 0x0301)


def server_hello(rng: Rng) -> bytes:
    share = tls_ext(51, struct.pack("!HH", 0x001D, 32) + rng.bytes(32))
    body = b"\x03\x03" + rng.bytes(32) + vec(rng.bytes(32), 1) + b"\x13\x01\0"
    body += vec(tls_ext(43, b"\x03\x04") + share)
    return tls_record(22, b"\2" + vec(body, 3)) + tls_record(20, b"\1")


def tls_head(size: int, prefix: bytes = b"") -> bytes:
    """`prefix`, then the header of one application-data record that fills a `size`-byte payload.

    One byte of ciphertext is included when needed so the head has an even length: the filler
    after it must start on a 16-bit word for the checksum arithmetic.
    """
    head = prefix + struct.pack("!BHH", 23, 0x0303, size - len(prefix) - 5)
    return head + b"\x5a" if len(head) % 2 else head


# ----------------------------------------------------------------------------- templates


@dataclass
class Template:
    """One kind of flow, simulated once: every flow drawn from it has these packets."""

    family: str
    ipver: int
    proto: int
    port: int
    rows: list[tuple[int, ...]] = field(default_factory=list)
    """(dir, flags, payload length or -1 for the app's, slot, rtts, ns, seq, ack, ip-id index,
    syn options) per packet; a packet's time is start + rtts * flow RTT + ns."""
    seq: list[int] = field(default_factory=lambda: [0, 0])
    idn: list[int] = field(default_factory=lambda: [0, 0])

    def emit(
        self,
        t: tuple[int, int],
        d: int,
        flags: int = 0,
        plen: int = 0,
        slot: int = 0,
        opts: int = 0,
        seq: int | None = None,
    ) -> None:
        ack = self.seq[1 - d] if flags & TH_ACK else 0
        seq = self.seq[d] if seq is None else seq
        self.rows.append((d, flags, plen, slot, t[0], t[1], seq, ack, self.idn[d], opts))
        self.idn[d] += 1
        if self.proto == IPPROTO_TCP:
            self.seq[d] += max(plen, 0) + (1 if flags & (TH_SYN | TH_FIN) else 0)


class TcpSession:
    """Builds a TCP template: handshake, segments with delayed ACKs, request/response, close."""

    def __init__(self, tpl: Template, apps: Apps) -> None:
        self.tpl, self.apps = tpl, apps
        self.mss = 1460 if tpl.ipver == 4 else 1440
        self.t = (0, 0)

    def handshake(self) -> None:
        self.tpl.emit((0, 0), 0, TH_SYN, opts=1)
        self.tpl.emit((1, 0), 1, TH_SYN | TH_ACK, opts=1)
        self.t = (1, 40 * US)
        self.tpl.emit(self.t, 0, TH_ACK)

    def send(self, d: int, segs: list[tuple[int, int]], t: tuple[int, int]) -> tuple[int, int]:
        """Segments (length, slot) from side `d`; the other side ACKs every second one."""
        r, c = t
        for i, (size, slot) in enumerate(segs):
            at = (r, c + i * GAP)
            last = i == len(segs) - 1
            self.tpl.emit(at, d, TH_ACK | (TH_PSH if last else 0), size, slot)
            if i % 2 or last:
                self.tpl.emit((r + 1, at[1]) if d == 0 else (r, at[1] + 30 * US), 1 - d, TH_ACK)
        return (r, c + (len(segs) - 1) * GAP)

    def tls(self, size: int, prefix: bytes = b"") -> list[tuple[int, int]]:
        """Split `size` bytes into segments, each one TLS record (dynamic record sizing)."""
        segs: list[tuple[int, int]] = []
        while size > 0:
            n = min(size, self.mss)
            if 0 < size - n < 8:
                n -= 8
            head = tls_head(n, prefix if not segs else b"")
            segs.append((n, self.apps.slot([head])))
            size -= n
        return segs

    def exchange(
        self, req: list[tuple[int, int]], resp: list[tuple[int, int]], think: int, server: int
    ) -> None:
        r, c = self.send(0, req, (self.t[0], self.t[1] + think))
        r, c = self.send(1, resp, (r + 1, c + server))
        self.t = (r, c + 60 * US)

    def close(self, idle: int, reset: bool = False) -> None:
        r, c = self.t[0], self.t[1] + idle
        if reset:
            self.tpl.emit((r, c), 0, TH_RST | TH_ACK)
            return
        self.tpl.emit((r, c), 0, TH_FIN | TH_ACK)
        self.tpl.emit((r + 1, c), 1, TH_FIN | TH_ACK)
        self.tpl.emit((r + 1, c + 35 * US), 0, TH_ACK)


@dataclass
class Names:
    """Per-variant app slots shared by all templates."""

    hello: int
    get: int
    dns_q: dict[int, int]
    dns_r: dict[int, int]
    quic: list[int]


def make_names(apps: Apps, rng: Rng) -> Names:
    words = ["api", "cdn", "img", "log", "push", "video", "edge", "auth", "static", "ws", "m", "t"]
    zones = ["example.com", "example.net", "example.org", "svc.example", "media.example.com"]
    names = [f"{words[i % 12]}{i // 60 or ''}.{zones[i % 5]}" for i in range(VARIANTS)]
    hello = apps.slot([client_hello(n, rng) for n in names])
    gets = []
    for i, n in enumerate(names):
        head = f"GET /v{i % 7}/obj/{i:04x}.bin HTTP/1.1\r\nHost: {n}\r\nUser-Agent: okhttp\r\n"
        pad = 320 - len(head) - len("X-Request-Id: \r\n\r\n")
        gets.append((head + "X-Request-Id: " + "0" * pad + "\r\n\r\n").encode())
    ip4 = [rng.bytes(4) for _ in names]
    ip6 = [bytes.fromhex("26001f18") + rng.bytes(12) for _ in names]
    dns_q = {t: apps.slot([dns_message(0, n, t, None) for n in names], dns=True) for t in (1, 28)}
    dns_r = {}
    for t, addrs in ((1, ip4), (28, ip6)):
        pairs = zip(names, map(ip_address, addrs), strict=True)
        dns_r[t] = apps.slot([dns_message(0, n, t, [(t, str(a))]) for n, a in pairs], dns=True)
    cids = [(rng.bytes(8), rng.bytes(8), rng.bytes(8)) for _ in names]
    quic = [
        apps.slot([quic_long(0, d, s, 1200) for d, s, _ in cids]),
        apps.slot([quic_long(0, s, sv, 1200) for _, s, sv in cids]),
        apps.slot([quic_long(2, s, sv, 1200) for _, s, sv in cids]),
        apps.slot([b"\x41" + sv + b"\0" for _, _, sv in cids]),
        apps.slot([b"\x41" + s + b"\0" for _, s, _ in cids]),
    ]
    return Names(hello, apps.slot(gets), dns_q, dns_r, quic)


def quic_long(ptype: int, dcid: bytes, scid: bytes, size: int) -> bytes:
    """QUIC v1 long header up to the length field (plus one byte, to keep it even)."""
    head = struct.pack("!BI", 0xC3 | ptype << 4, 1) + vec(dcid, 1) + vec(scid, 1)
    head += b"\0" if ptype == 0 else b""
    head += struct.pack("!H", 0x4000 | (size - len(head) - 2))
    return head + b"\0" if len(head) % 2 else head


def tls_flow(
    rng: Rng,
    apps: Apps,
    names: Names,
    ipver: int,
    exchanges: list[tuple[int, int]],
    reset: bool = False,
) -> Template:
    tpl = Template("tls", ipver, IPPROTO_TCP, 443)
    s = TcpSession(tpl, apps)
    s.handshake()
    flight = s.tls(int(rng.integers(2600, 4800)), server_hello(rng))
    s.exchange([(517, names.hello)], flight, 50 * US, MS)
    finished = tls_record(20, b"\1")
    for i, (req, resp) in enumerate(exchanges):
        think = 300 * US if i == 0 else int(rng.integers(50, 1500)) * MS
        s.exchange(
            s.tls(req, finished if i == 0 else b""),
            s.tls(resp),
            think,
            int(rng.integers(1, 40)) * MS,
        )
    s.close(int(rng.integers(100, 3000)) * MS, reset)
    return tpl


def http_flow(rng: Rng, apps: Apps, names: Names) -> Template:
    tpl = Template("http", 4, IPPROTO_TCP, 80)
    s = TcpSession(tpl, apps)
    s.handshake()
    body = int(rng.integers(1000, 60000))
    head = ""
    for server in ("edge", "edge1"):  # one of the two makes the head even, as the filler needs
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {body}\r\nServer: {server}\r\n\r\n"
        )
        if len(head) % 2 == 0:
            break
    total = len(head) + body
    sizes = [min(s.mss, total - i) for i in range(0, total, s.mss)]
    resp = [(n, apps.slot([head.encode()]) if i == 0 else 0) for i, n in enumerate(sizes)]
    s.exchange([(320, names.get)], resp, 50 * US, int(rng.integers(2, 30)) * MS)
    s.close(int(rng.integers(500, 5000)) * MS)
    return tpl


def dns_flow(names: Names, ipver: int) -> Template:
    tpl = Template("dns", ipver, IPPROTO_UDP, 53)
    qtype = 1 if ipver == 4 else 28
    tpl.emit((0, 0), 0, plen=-1, slot=names.dns_q[qtype])
    tpl.emit((1, 200 * US), 1, plen=-1, slot=names.dns_r[qtype])
    return tpl


def quic_flow(rng: Rng, names: Names, ipver: int) -> Template:
    tpl = Template("quic", ipver, IPPROTO_UDP, 443)
    ci, si, sh, s_short, c_short = names.quic
    tpl.emit((0, 0), 0, plen=1200, slot=ci)
    for i, slot in enumerate((si, sh, sh)):
        tpl.emit((1, i * GAP), 1, plen=1200, slot=slot)
    tpl.emit((1, 2 * GAP + 400 * US), 0, plen=1200, slot=ci)
    c = 2 * GAP
    for _ in range(int(rng.integers(1, 6))):
        for i in range(int(rng.integers(4, 24))):
            tpl.emit((2, c + i * GAP), 1, plen=1252, slot=s_short)
            if i % 2:
                tpl.emit((2, c + i * GAP + 40 * US), 0, plen=40, slot=c_short)
        c += int(rng.integers(200, 900)) * MS
    return tpl


def icmp_flow() -> Template:
    tpl = Template("icmp", 4, IPPROTO_ICMP, 0)
    for n in range(2):
        tpl.emit((0, n * 1000 * MS), 0, plen=56, seq=n + 1)
        tpl.emit((1, n * 1000 * MS), 1, plen=56, seq=n + 1)
    return tpl


def sizes(rng: Rng, lo: int, hi: int) -> int:
    """Log-uniform: many small transfers, a few large ones."""
    return int(np.exp(rng.uniform(np.log(lo), np.log(hi))))


FAMILIES: dict[str, tuple[float, int]] = {
    "web4": (0.30, 24),
    "bulk4": (0.20, 16),
    "upload4": (0.05, 8),
    "http4": (0.06, 16),
    "short4": (0.03, 8),
    "web6": (0.09, 16),
    "bulk6": (0.05, 8),
    "dns4": (0.08, 1),
    "dns6": (0.03, 1),
    "quic4": (0.03, 8),
    "quic6": (0.05, 8),
    "icmp4": (0.03, 1),
}
"""Family -> (share of packets, number of templates)."""


TLS_SIZES: dict[str, tuple[int, int, tuple[int, int], tuple[int, int]]] = {
    "web": (1, 8, (150, 2500), (200, 40_000)),
    "bulk": (1, 3, (300, 900), (60_000, 600_000)),
    "upload": (1, 2, (20_000, 200_000), (100, 600)),
    "short": (0, 1, (0, 0), (0, 0)),
}
"""TLS kind -> (min, max+1 exchanges, request bytes range, response bytes range)."""


def build(rng: Rng, apps: Apps, names: Names, family: str) -> Template:
    ipver, kind = int(family[-1]), family[:-1]
    if kind in TLS_SIZES:
        least, most, req, resp = TLS_SIZES[kind]
        count = int(rng.integers(least, most))
        exchanges = [(sizes(rng, *req), sizes(rng, *resp)) for _ in range(count)]
        tpl = tls_flow(rng, apps, names, ipver, exchanges, reset=kind == "short")
    elif kind == "http":
        tpl = http_flow(rng, apps, names)
    elif kind == "dns":
        tpl = dns_flow(names, ipver)
    elif kind == "quic":
        tpl = quic_flow(rng, names, ipver)
    else:
        tpl = icmp_flow()
    tpl.family = family
    return tpl


# ----------------------------------------------------------------------------- flows -> packets


@dataclass
class Plan:
    """Per-packet indices, in capture order, into the flow and template-row tables."""

    flow: I64
    row: I64
    ts_us: I64
    rows: dict[str, npt.NDArray[np.int64]]
    tmpl: dict[str, npt.NDArray[np.int64]]
    flows: Flows


def address_pools(rng: Rng) -> dict[str, U8]:
    """Address pools as 16-byte rows (IPv4 in the first four bytes)."""

    def pool(prefix: bytes, n: int, used: int = 16) -> U8:
        """`n` distinct addresses: `prefix`, random bytes, distinct last one or two bytes."""
        rows = np.zeros((n, 16), dtype=np.uint8)
        rows[:, : len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
        low = min(used - len(prefix), 2)
        rows[:, len(prefix) : used - low] = rng.integers(0, 256, (n, used - len(prefix) - low))
        last = rng.choice(256**low - 2, n, replace=False) + 1
        rows[:, used - low : used] = last.astype(">u2").view(np.uint8).reshape(n, 2)[:, 2 - low :]
        return rows

    v4 = [
        bytes([3, 80]),
        bytes([150, 136]),
        bytes([129, 213]),
        bytes([20, 42]),
        bytes([52, 84]),
        bytes([104, 18]),
        bytes([161, 118]),
        bytes([34, 117]),
    ]
    servers4 = np.concatenate([pool(p, 800, used=4) for p in v4])
    servers6 = np.concatenate([pool(bytes.fromhex(p), 800) for p in ("26001f18", "2a05d018")])
    return {
        "client4": pool(bytes([10, 64]), 6000, used=4),
        "server4": servers4,
        "resolver4": pool(bytes([10, 64, 0]), 2, used=4),
        "client6": pool(bytes.fromhex("20010db800640000"), 3000),
        "server6": servers6,
        "resolver6": pool(bytes.fromhex("20010db80064000000000000000000"), 2),
    }


def make_flows(rng: Rng, templates: list[Template], packets: int) -> Flows:
    """Enough flows for `packets` (plus a margin cut off at the end), start times increasing."""
    counts = []
    for family, (share, _) in FAMILIES.items():
        ids = [i for i, t in enumerate(templates) if t.family == family]
        mean = np.mean([len(templates[i].rows) for i in ids])
        n = int(np.ceil(share * packets * 1.1 / mean))
        counts.append(rng.choice(ids, n))
    tmpl = np.concatenate(counts)
    tmpl = tmpl[rng.permutation(len(tmpl))]
    n = len(tmpl)
    span_ns = int(packets / RATE_PPS * 1e9)
    pools = address_pools(rng)
    ipver = np.array([t.ipver for t in templates])[tmpl]
    family = np.array([t.family for t in templates])[tmpl]
    v6 = ipver == 6
    dns = np.char.startswith(family, "dns")
    client_idx = np.where(v6, rng.integers(0, 3000, n), rng.integers(0, 6000, n))
    client = np.where(
        v6[:, None], pools["client6"][client_idx % 3000], pools["client4"][client_idx]
    )
    server = np.where(
        v6[:, None],
        pools["server6"][rng.integers(0, 1600, n)],
        pools["server4"][rng.integers(0, 6400, n)],
    )
    resolver = np.where(
        v6[:, None],
        pools["resolver6"][rng.integers(0, 2, n)],
        pools["resolver4"][rng.integers(0, 2, n)],
    )
    server = np.where(dns[:, None], resolver, server)
    # Ephemeral ports count up per client host, so no 5-tuple is ever reused.
    host = client_idx + v6 * 10_000
    order = np.argsort(host, kind="stable")
    first = np.searchsorted(host[order], host[order])
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - first
    mac = np.zeros((n, 6), dtype=np.uint8)
    mac[:, 0] = 2
    mac[:, 2:] = host.astype(">u4").view(np.uint8).reshape(n, 4)
    return {
        "tmpl": tmpl,
        "start": np.sort(rng.integers(0, span_ns, n)),
        "rtt": np.clip(rng.lognormal(np.log(25 * MS), 0.9, n), 2 * MS, 280 * MS).astype(np.int64),
        "variant": rng.integers(0, VARIANTS, n),
        "client": client,
        "server": server,
        "mac": mac,
        "cport": 32768 + rank % 28000,
        "isn": rng.integers(0, 1 << 32, (n, 2)),
        "ipid": rng.integers(0, 1 << 16, (n, 2)),
        "ttl": rng.integers(40, 58, n),
        "label": rng.integers(0, 1 << 20, (n, 2)),
        "vlan": np.where(rng.random(n) < 0.05, rng.choice([10, 20, 30], n), 0),
        "txid": rng.integers(0, 1 << 16, n),
    }


def plan(templates: list[Template], flows: Flows, packets: int) -> Plan:
    """Expand flows into packets, sort by time, keep the first `packets`."""
    rows = np.array([r for t in templates for r in t.rows], dtype=np.int64)
    cols = ["dir", "flags", "plen", "slot", "r", "c", "seq", "ack", "idn", "opts"]
    row_tab = {name: rows[:, i] for i, name in enumerate(cols)}
    per_tpl = np.array([len(t.rows) for t in templates])
    first_row = np.concatenate([[0], np.cumsum(per_tpl)[:-1]])
    tmpl_tab = {
        "ipver": np.array([t.ipver for t in templates]),
        "proto": np.array([t.proto for t in templates]),
        "port": np.array([t.port for t in templates]),
    }
    counts = per_tpl[flows["tmpl"]]
    flow = np.repeat(np.arange(len(counts)), counts)
    within = np.arange(len(flow)) - np.repeat(np.cumsum(counts) - counts, counts)
    row = first_row[flows["tmpl"]][flow] + within
    ts = flows["start"][flow] + row_tab["r"][row] * flows["rtt"][flow] + row_tab["c"][row]
    order = np.argsort(ts, kind="stable")[:packets]
    if len(order) < packets:
        raise SystemExit(f"only {len(order)} packets planned")
    ts_us = START_US + ts[order] // 1000
    return Plan(flow[order], row[order], ts_us, row_tab, tmpl_tab, flows)


# ----------------------------------------------------------------------------- serialisation


def put(h: U8, at: int, values: npt.NDArray[Any], width: int) -> None:
    """Write big-endian integers into columns at..at+width of every row."""
    h[:, at : at + width] = values.astype(f">u{width}").view(np.uint8).reshape(-1, width)


def words(h: U8, a: int, b: int) -> I64:
    """Per-row sum of the 16-bit words in columns a..b."""
    high: I64 = h[:, a:b:2].sum(1, dtype=np.int64) << 8
    low: I64 = h[:, a + 1 : b : 2].sum(1, dtype=np.int64)
    return high + low


class Builder:
    """Turns a slice of the plan into frame bytes."""

    def __init__(self, p: Plan, apps: Apps, rng: Rng) -> None:
        self.p = p
        self.apps = apps.table()
        self.pattern = rng.integers(0, 256, PERIOD, dtype=np.uint8)
        pat = self.pattern.astype(np.int64)
        even, odd = pat.copy(), pat.copy()
        even[1::2], odd[0::2] = 0, 0
        self.cum: I64 = np.stack(
            [np.concatenate([[0], np.cumsum(even)]), np.concatenate([[0], np.cumsum(odd)])]
        )
        f, r = p.flow, p.row
        t = p.flows["tmpl"][f]
        self.ipver = p.tmpl["ipver"][t]
        self.proto = p.tmpl["proto"][t]
        slot = p.rows["slot"][r]
        self.app = self.apps.slot_app[slot, p.flows["variant"][f]]
        app_len = np.where(self.app >= 0, self.apps.length[self.app], 0)
        plen = p.rows["plen"][r]
        self.plen = np.where(plen < 0, app_len, plen)
        self.app_bytes = app_len
        self.l4hdr = np.where(self.proto == IPPROTO_TCP, 20 + 12 * p.rows["opts"][r], 8)
        self.l2 = np.where(p.flows["vlan"][f] > 0, 18, 14)
        self.ip_len = np.where(self.ipver == 4, 20, 40) + self.l4hdr + self.plen
        dir1 = p.rows["dir"][r] == 1
        self.frame_len = np.where(
            dir1, np.maximum(self.l2 + self.ip_len, 60), self.l2 + self.ip_len
        )
        self.start = np.concatenate([[0], np.cumsum(self.frame_len)[:-1]])

    def filler_sum(self, a: I64, b: I64) -> I64:
        """Checksum word sum of pattern bytes at absolute positions a..b (a starts a word)."""

        def at(x: I64, parity: int) -> I64:
            whole: I64 = (x // PERIOD) * self.cum[parity, -1]
            part: I64 = self.cum[parity, x % PERIOD]
            return whole + part

        even = at(b, 0) - at(a, 0)
        odd = at(b, 1) - at(a, 1)
        total: I64 = np.where(a % 2 == 0, (even << 8) + odd, (odd << 8) + even)
        return total

    def frames(self, i0: int, i1: int) -> U8:
        base, end = int(self.start[i0]), int(self.start[i1 - 1] + self.frame_len[i1 - 1])
        lead = base % PERIOD
        reps = (lead + end - base) // PERIOD + 1
        buf = np.tile(self.pattern, reps)[lead : lead + end - base].copy()
        idx = np.arange(i0, i1)
        layout = self.proto[idx] * 64 + (self.l2[idx] == 18) * 8 + (self.ipver[idx] == 6) * 4
        layout += self.p.rows["opts"][self.p.row[idx]] * 2
        for code in np.unique(layout):
            sel = idx[layout == code]
            copy_rows(buf, self.start[sel] - base, self.headers(sel))
        self.scatter_apps(buf, idx, base)
        self.zero_padding(buf, idx, base)
        return buf

    def scatter_apps(self, buf: U8, idx: I64, base: int) -> None:
        sel = idx[self.app[idx] >= 0]
        apps = self.app[sel]
        at = self.start[sel] - base + self.hdr_len(sel)
        copy_slices(buf, at, self.apps.data, self.apps.offset[apps], self.apps.length[apps])
        dns = sel[self.apps.dns[apps]]
        txid = self.p.flows["txid"][self.p.flow[dns]]
        at = self.start[dns] - base + self.hdr_len(dns)
        buf[at], buf[at + 1] = txid >> 8, txid & 0xFF

    def zero_padding(self, buf: U8, idx: I64, base: int) -> None:
        ends = self.l2[idx] + self.ip_len[idx]
        sel = idx[ends < self.frame_len[idx]]
        for k in range(1, 7):
            s = sel[self.frame_len[sel] - (self.l2[sel] + self.ip_len[sel]) >= k]
            buf[self.start[s] - base + self.frame_len[s] - k] = 0

    def hdr_len(self, sel: I64) -> I64:
        return self.l2[sel] + np.where(self.ipver[sel] == 4, 20, 40) + self.l4hdr[sel]

    def headers(self, sel: I64) -> U8:
        """Ethernet (+802.1Q), IPv4/IPv6 and TCP/UDP/ICMP headers for packets of one layout."""
        p, f, r = self.p, self.p.flow[sel], self.p.row[sel]
        n, l2 = len(sel), int(self.l2[sel[0]])
        v4, proto = self.ipver[sel[0]] == 4, int(self.proto[sel[0]])
        l3 = 20 if v4 else 40
        l4 = l2 + l3
        h = np.zeros((n, int(self.hdr_len(sel[:1])[0])), dtype=np.uint8)
        d = p.rows["dir"][r]
        cmac, gw = p.flows["mac"][f], np.frombuffer(GATEWAY_MAC, dtype=np.uint8)
        h[:, 0:6] = np.where(d[:, None] == 0, gw, cmac)
        h[:, 6:12] = np.where(d[:, None] == 0, cmac, gw)
        if l2 == 18:
            put(h, 12, np.full(n, ETH_VLAN), 2)
            put(h, 14, p.flows["vlan"][f], 2)
        put(h, l2 - 2, np.full(n, ETH_IPV4 if v4 else ETH_IPV6), 2)
        cli, srv = p.flows["client"][f], p.flows["server"][f]
        src = np.where(d[:, None] == 0, cli, srv)
        dst = np.where(d[:, None] == 0, srv, cli)
        ttl = np.where(d == 0, 64, p.flows["ttl"][f])
        ip_len = self.ip_len[sel]
        l4_len = ip_len - l3
        if v4:
            h[:, l2] = 0x45
            put(h, l2 + 2, ip_len, 2)
            put(h, l2 + 4, (p.flows["ipid"][f, d] + p.rows["idn"][r]) & 0xFFFF, 2)
            h[:, l2 + 6] = 0x40
            h[:, l2 + 8] = ttl
            h[:, l2 + 9] = proto
            h[:, l2 + 12 : l2 + 16] = src[:, :4]
            h[:, l2 + 16 : l2 + 20] = dst[:, :4]
            put(h, l2 + 10, fold(words(h, l2, l2 + 20)), 2)
            pseudo = words(h, l2 + 12, l2 + 20) + proto + l4_len
        else:
            put(h, l2, (6 << 28) | p.flows["label"][f, d], 4)
            put(h, l2 + 4, l4_len, 2)
            h[:, l2 + 6] = proto
            h[:, l2 + 7] = ttl
            h[:, l2 + 8 : l2 + 24] = src
            h[:, l2 + 24 : l2 + 40] = dst
            pseudo = words(h, l2 + 8, l2 + 40) + proto + (l4_len >> 16) + (l4_len & 0xFFFF)
        cport, sport = p.flows["cport"][f], p.tmpl["port"][p.flows["tmpl"][f]]
        if proto == IPPROTO_ICMP:
            h[:, l4] = np.where(d == 0, 8, 0)
            put(h, l4 + 4, cport, 2)
            put(h, l4 + 6, p.rows["seq"][r], 2)
            pseudo = np.zeros(n, dtype=np.int64)
        else:
            put(h, l4, np.where(d == 0, cport, sport), 2)
            put(h, l4 + 2, np.where(d == 0, sport, cport), 2)
        if proto == IPPROTO_UDP:
            put(h, l4 + 4, l4_len, 2)
        if proto == IPPROTO_TCP:
            flags = p.rows["flags"][r]
            isn = p.flows["isn"][f]
            put(h, l4 + 4, (isn[np.arange(n), d] + p.rows["seq"][r]) & 0xFFFFFFFF, 4)
            ack = (isn[np.arange(n), 1 - d] + p.rows["ack"][r]) & 0xFFFFFFFF
            put(h, l4 + 8, np.where(flags & TH_ACK, ack, 0), 4)
            h[:, l4 + 12] = (h.shape[1] - l4) // 4 << 4
            h[:, l4 + 13] = flags
            put(h, l4 + 14, np.where(flags & TH_SYN, 64240, np.where(d == 0, 502, 501)), 2)
            if h.shape[1] - l4 == 32:
                h[:, l4 + 20 :] = np.frombuffer(SYN_OPTS[4 if v4 else 6], dtype=np.uint8)
        total = pseudo + words(h, l4, h.shape[1]) + self.payload_sum(sel)
        csum = fold(total)
        if proto == IPPROTO_UDP:
            csum = np.where(csum == 0, 0xFFFF, csum)
        put(h, l4 + CHECKSUM_AT[proto], csum, 2)
        return h

    def payload_sum(self, sel: I64) -> I64:
        app = self.app[sel]
        has = app >= 0
        total = np.where(has, self.apps.word_sum[np.maximum(app, 0)], 0)
        dns = has & self.apps.dns[np.maximum(app, 0)]
        total += np.where(dns, self.p.flows["txid"][self.p.flow[sel]], 0)
        a = self.start[sel] + self.hdr_len(sel) + self.app_bytes[sel]
        b = self.start[sel] + self.l2[sel] + self.ip_len[sel]
        return total + self.filler_sum(a, b)


def generate(packets: int, out: Path, seed: int = SEED) -> tuple[Path, Path]:
    """Write out/bench-<packets>.pcap and .pcapng; returns their paths."""
    rng = np.random.default_rng(seed)
    apps = Apps()
    names = make_names(apps, rng)
    templates = [build(rng, apps, names, fam) for fam, (_, k) in FAMILIES.items() for _ in range(k)]
    p = plan(templates, make_flows(rng, templates, packets), packets)
    b = Builder(p, apps, rng)
    out.mkdir(parents=True, exist_ok=True)
    paths = (out / f"bench-{packets}.pcap", out / f"bench-{packets}.pcapng")
    with paths[0].open("wb") as pcap, paths[1].open("wb") as ng:
        pcap.write(capfile.pcap_header())
        ng.write(capfile.section(application="bench/gen_capture.py") + capfile.Interface().block())
        for i0 in range(0, packets, CHUNK):
            i1 = min(i0 + CHUNK, packets)
            frames, at = b.frames(i0, i1), b.start[i0:i1] - b.start[i0]
            ts_us, caplen = b.p.ts_us[i0:i1], b.frame_len[i0:i1]
            pcap.write(capfile.pcap_records(ts_us * US, frames, at, caplen).data)
            ng.write(capfile.epb_records(0, ts_us, frames, at, caplen).data)  # units: µs
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, default=2_000_000)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args()
    t0 = time.perf_counter()
    paths = generate(args.packets, args.out, args.seed)
    took = time.perf_counter() - t0
    sizes = ", ".join(f"{p} ({p.stat().st_size / 1e6:.0f} MB)" for p in paths)
    print(f"wrote {args.packets} packets in {took:.1f} s: {sizes}")


if __name__ == "__main__":
    main()
