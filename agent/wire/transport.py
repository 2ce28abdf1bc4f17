"""Transport headers: the ports that key a flow, and TCP's flags that start and end one."""

from __future__ import annotations

import numpy as np
from numba import njit

from agent.wire import reasons as R
from agent.wire.bytes import Buf, Int, u16be, u32be

IP_ICMP, IP_IPIP, IP_TCP, IP_UDP, IP_IPV6, IP_GRE, IP_ICMPV6, IP_SCTP = 1, 4, 6, 17, 41, 47, 58, 132
TH_FIN, TH_SYN, TH_RST, TH_PSH, TH_ACK = 0x01, 0x02, 0x04, 0x08, 0x10


@njit(cache=True)
def has_ports(proto: int) -> bool:
    return proto == IP_TCP or proto == IP_UDP or proto == IP_SCTP or proto == 136 or proto == 33


@njit(cache=True)
def parse_transport(buf: Buf, pos: int, end: int, proto: int) -> tuple[Int, Int, Int, Int]:
    """-> (reason, source port, destination port, TCP flags); port-less protocols give zeros."""
    if not has_ports(proto):
        return R.OK, 0, 0, 0
    if pos + 4 > end:
        return R.TRUNCATED_TRANSPORT, 0, 0, 0
    flags = np.int64(buf[pos + 13]) if proto == IP_TCP and pos + 14 <= end else 0
    return R.OK, u16be(buf, pos), u16be(buf, pos + 2), flags


@njit(cache=True)
def payload_span(buf: Buf, pos: Int, end: Int, proto: Int) -> tuple[Int, Int, Int]:
    """-> (offset, captured length, TCP sequence number) of the transport payload, for the
    parsers that read names; zeros where there is none or the header is cut."""
    if proto == IP_UDP and pos + 8 <= end:
        return pos + 8, end - pos - 8, 0
    if proto == IP_TCP and pos + 13 <= end:
        start = pos + (np.int64(buf[pos + 12]) >> 4) * 4
        if start <= end:
            return start, end - start, u32be(buf, pos + 4)
    return 0, 0, 0
