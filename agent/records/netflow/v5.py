"""NetFlow v5: a fixed 24-byte header and `count` fixed 48-byte IPv4 records, no templates.

Times are sysUptime milliseconds, placed on the calendar by the header's own clock
(unix_secs + unix_nsecs at sysUptime); the header's sampling interval (its low 14 bits) scales
every record. The vantage point is the exporter and its engine (type.id).
"""

from __future__ import annotations

import socket
import struct

from agent.records.model import Counts, FlowRecord, Where
from agent.records.netflow.ies import PORTED
from agent.wire.cursor import Cursor

HEADER = struct.Struct(">HIIIIBBH")
"""count, sysUptime, unix_secs, unix_nsecs, flow_sequence, engine_type, engine_id, sampling
(after the version, which the caller read)."""
RECORD = struct.Struct(">4s4s8xIIIIHHxBB9x")
"""srcaddr, dstaddr, (nexthop, input, output), dPkts, dOctets, First, Last, srcport, dstport,
(pad), tcp_flags, prot, (tos, src_as, dst_as, masks, pad)."""
MAX_COUNT = 30
"""Cisco's limit; a larger count is not a v5 datagram."""


def parse_v5(cur: Cursor, exporter: str, offset: int) -> list[FlowRecord]:
    count, uptime, secs, nsecs, _seq, etype, eid, sampling = HEADER.unpack(
        cur.bytes(HEADER.size, "v5 header"))  # fmt: skip
    if not 0 < count <= MAX_COUNT:
        raise cur.error(f"v5 record count {count} (1..{MAX_COUNT})")
    body = cur.bytes(count * RECORD.size, f"{count} v5 records")
    rate = sampling & 0x3FFF or 1
    now = secs * 1_000_000_000 + nsecs
    vantage = f"{exporter}/{etype}.{eid}"
    counts = Counts.EXACT if rate == 1 else Counts.ESTIMATED
    out = []
    for item, (src, dst, pkts, octets, first, last, sport, dport, flags, proto) in enumerate(
        RECORD.iter_unpack(body)
    ):
        if proto not in PORTED:
            sport = dport = 0
        out.append(FlowRecord(
            source="netflow-v5", vantage=vantage, proto=proto,
            src=socket.inet_ntop(socket.AF_INET, src), sport=sport,
            dst=socket.inet_ntop(socket.AF_INET, dst), dport=dport,
            first_ns=now - max(_ago(uptime, first), _ago(uptime, last)),
            last_ns=now - min(_ago(uptime, first), _ago(uptime, last)),
            packets=pkts * rate, bytes=octets * rate, tcp_flags=flags, counts=counts,
            sampling=rate, where=Where(offset=offset, item=item),
        ))  # fmt: skip
    return out


def _ago(uptime: int, then: int) -> int:
    """ns from sysUptime `then` to `uptime` (ms, 32 bits, wrapping after 49.7 days)."""
    ms = (uptime - then) & 0xFFFF_FFFF
    return (ms - (1 << 32) if ms >= 1 << 31 else ms) * 1_000_000
