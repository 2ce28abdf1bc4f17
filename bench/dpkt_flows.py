"""Reference for bench_flows.py: bidirectional flow accounting as a plain dpkt loop.

Why: it is what a Python engineer would write first, so it is the baseline `residency flows`
has to beat. The accounting matches residency's: key = protocol and the two endpoints sorted;
per direction (forward = the first packet's sender) packets, IP bytes (IPv4 total length, IPv6
payload + 40), frame bytes, and first/last timestamp. ICMP and other protocols use port 0.
"""

from __future__ import annotations

import argparse
import socket
import sys
from typing import BinaryIO

import dpkt

Endpoint = tuple[bytes, int]
FlowKey = tuple[int, Endpoint, Endpoint]


class Flow:
    """Counters of one flow; index 0 is the forward direction."""

    __slots__ = ("src", "packets", "ip_bytes", "frame_bytes", "first", "last")

    def __init__(self, src: Endpoint, ts: float) -> None:
        self.src = src
        self.packets = [0, 0]
        self.ip_bytes = [0, 0]
        self.frame_bytes = [0, 0]
        self.first = self.last = ts


def open_reader(stream: BinaryIO) -> dpkt.pcap.Reader | dpkt.pcapng.Reader:
    magic = stream.read(4)
    stream.seek(0)
    if magic == b"\x0a\x0d\x0d\x0a":
        return dpkt.pcapng.Reader(stream)
    return dpkt.pcap.Reader(stream)


def account(path: str) -> tuple[dict[FlowKey, Flow], int, int]:
    """Flows of a capture, the packets read, and the packets with no IP flow (ARP, damage)."""
    flows: dict[FlowKey, Flow] = {}
    packets = skipped = 0
    with open(path, "rb") as stream:
        for ts, buf in open_reader(stream):
            packets += 1
            try:
                eth = dpkt.ethernet.Ethernet(buf)
            except (dpkt.UnpackError, dpkt.NeedData):
                skipped += 1
                continue
            ip = eth.data
            if isinstance(ip, dpkt.ip.IP):
                proto, ip_bytes = ip.p, ip.len
            elif isinstance(ip, dpkt.ip6.IP6):
                proto, ip_bytes = ip.p, ip.plen + 40
            else:
                skipped += 1
                continue
            l4 = ip.data
            if isinstance(l4, dpkt.tcp.TCP | dpkt.udp.UDP):
                src, dst = (ip.src, l4.sport), (ip.dst, l4.dport)
            else:
                src, dst = (ip.src, 0), (ip.dst, 0)
            key = (proto, src, dst) if src <= dst else (proto, dst, src)
            flow = flows.get(key)
            if flow is None:
                flow = flows[key] = Flow(src, ts)
            d = 0 if src == flow.src else 1
            flow.packets[d] += 1
            flow.ip_bytes[d] += ip_bytes
            flow.frame_bytes[d] += len(buf)
            flow.last = ts
    return flows, packets, skipped


def show(key: FlowKey, flow: Flow) -> str:
    def ep(e: Endpoint) -> str:
        family = socket.AF_INET if len(e[0]) == 4 else socket.AF_INET6
        return f"{socket.inet_ntop(family, e[0])}:{e[1]}"

    dst = key[2] if key[1] == flow.src else key[1]
    return (
        f"{key[0]} {ep(flow.src)} {ep(dst)} fwd {flow.packets[0]}/{flow.ip_bytes[0]}/"
        f"{flow.frame_bytes[0]} rev {flow.packets[1]}/{flow.ip_bytes[1]}/"
        f"{flow.frame_bytes[1]} {flow.first:.6f}-{flow.last:.6f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("capture")
    ap.add_argument("--list", action="store_true", help="print every flow, not only the totals")
    args = ap.parse_args()
    flows, packets, skipped = account(args.capture)
    if args.list:
        for key, flow in flows.items():
            print(show(key, flow))
    print(f"flows {len(flows)} packets {packets} skipped {skipped}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
