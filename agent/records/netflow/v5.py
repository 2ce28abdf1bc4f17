"""NetFlow v5: a fixed 24-byte header and `count` fixed 48-byte IPv4 records, no templates.

Times are sysUptime milliseconds, placed on the calendar by the header's own clock
(unix_secs + unix_nsecs at sysUptime); the header's sampling interval (its low 14 bits) scales
every record. The vantage point is the exporter and its engine (type.id).
"""

from __future__ import annotations

import struct

import numpy as np

V5_HEADER = struct.Struct(">HIIIIBBH")
"""count, sysUptime, unix_secs, unix_nsecs, flow_sequence, engine_type, engine_id, sampling
(after the version, which the caller read)."""
V5_RECORD = np.dtype({
    "names": ["src4", "dst4", "packets", "bytes", "start_uptime", "end_uptime", "sport",
              "dport", "tcp_flags", "proto"],
    "formats": [">u4", ">u4", ">u4", ">u4", ">u4", ">u4", ">u2", ">u2", "u1", "u1"],
    "offsets": [0, 4, 16, 20, 24, 28, 32, 34, 37, 38],
    "itemsize": 48,
})  # fmt: skip
"""A 48-byte record, by the roles of v9's elements: srcaddr, dstaddr, (nexthop, input,
output), dPkts, dOctets, First, Last, srcport, dstport, (pad), tcp_flags, prot, (tos, src_as,
dst_as, masks, pad)."""
V5_MAX_COUNT = 30
"""Cisco's limit; a larger count is not a v5 datagram."""
