"""Transport payloads out of real captures for the name parsers' tests: scapy dissects only the
link, IP and transport layers, so the payloads are the bytes as captured."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from scapy.config import conf
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment
from scapy.layers.l2 import CookedLinux, Dot1AD, Dot1Q, Ether, Loopback
from scapy.layers.vxlan import VXLAN
from scapy.packet import Raw
from scapy.utils import PcapNgReader, PcapReader

LAYERS = [
    Ether,
    CookedLinux,
    Loopback,
    Dot1Q,
    Dot1AD,
    IP,
    IPv6,
    IPv6ExtHdrFragment,
    UDP,
    TCP,
    VXLAN,
]


@contextmanager
def transport_only() -> Iterator[None]:
    """Dissect down to TCP/UDP only, so payloads are the captured bytes, never re-encoded."""
    conf.layers.filter(LAYERS)
    try:
        yield
    finally:
        conf.layers.unfilter()


def segments(path: Path) -> list[tuple[int, Any, bytes]]:
    """(frame number, innermost TCP/UDP layer, its payload) per frame; IPv6 fragments joined."""
    out: list[tuple[int, Any, bytes]] = []
    frags: dict[int, list[tuple[int, bytes]]] = defaultdict(list)
    reader = PcapNgReader if path.suffix == ".pcapng" else PcapReader
    with transport_only(), reader(str(path)) as packets:  # type: ignore[operator]
        for number, pkt in enumerate(packets, 1):
            layer, last = pkt, None
            if isinstance(pkt, Loopback) and isinstance(pkt.payload, Raw):
                inner = bytes(pkt.payload)  # BSD loopback families scapy does not bind (30: v6)
                layer = (IPv6 if inner[:1] >= b"\x60" else IP)(inner)
            while layer:
                if isinstance(layer, IPv6ExtHdrFragment):
                    frags[layer.id].append((layer.offset * 8, bytes(layer.payload)))
                    if layer.m:
                        break
                    whole = b"".join(b for _, b in sorted(frags.pop(layer.id)))
                    layer = UDP(whole)
                    continue
                if isinstance(layer, TCP | UDP):
                    last = layer
                layer = layer.payload
            if last is not None:
                out.append((number, last, last[Raw].load if Raw in last else b""))
    return out


def streams(path: Path, port: int) -> dict[tuple[Any, ...], tuple[int, bytes]]:
    """TCP payload per direction touching `port`, in sequence order, retransmissions dropped."""
    parts: dict[tuple[Any, ...], dict[int, tuple[int, bytes]]] = defaultdict(dict)
    for number, seg, data in segments(path):
        if isinstance(seg, TCP) and port in (seg.sport, seg.dport) and data:
            key = (seg.underlayer.src, seg.sport, seg.underlayer.dst, seg.dport)
            parts[key].setdefault(seg.seq, (number, data))
    out = {}
    for key, by_seq in parts.items():
        ordered = [by_seq[s] for s in sorted(by_seq)]
        out[key] = (ordered[-1][0], b"".join(d for _, d in ordered))
    return out
