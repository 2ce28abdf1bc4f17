"""The batch decoder: records in, one row per IP layer that carries a flow out.

A packet gives one row for the flow that leaves the host (depth 0) and one more per tunnel it
carries (depth 1, 2 ...). A record or layer that cannot be used gives a row with its reason.
Rows are uint64 columns of one 2-D array: no Python object per packet.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
from numba import njit

from agent.capture.batch import I64, U8, RecordBatch
from agent.wire import reasons as R
from agent.wire.bytes import Buf, Int
from agent.wire.ip import FRAG_FIRST, FRAG_LAST, FRAG_MIDDLE, parse_ipv4, parse_ipv6
from agent.wire.link import (
    L_ETHER,
    L_IP_ANY,
    L_IPV4,
    L_IPV6,
    L_NONE,
    L_PPP,
    parse_ether,
    parse_link,
    parse_ppp,
)  # fmt: skip
from agent.wire.transport import parse_transport, payload_span
from agent.wire.tunnel import inner_layer

Rows = npt.NDArray[np.uint64]

# Row columns.
(REC, DEPTH, VERSION, PROTO, SRC_HI, SRC_LO, DST_HI, DST_LO,
 SPORT, DPORT, IP_LEN, TCP_FLAGS, FRAG, FRAG_ID, REASON,
 PAYLOAD, PAYLOAD_LEN, TCP_SEQ, SERIAL, FORWARD) = range(20)  # fmt: skip
"""PAYLOAD..TCP_SEQ locate the transport payload for the name parsers; the flow table fills
SERIAL (the flow's number, never reused) and FORWARD (1: sent by the initiator)."""
N_COLUMNS = 20
MAX_DEPTH = 3
ROWS_PER_RECORD = MAX_DEPTH + 2


@njit(cache=True, inline="always")
def _reason(rows: Rows, n: int, rec: int, depth: int, reason: int) -> Int:
    rows[n, REC], rows[n, DEPTH], rows[n, REASON] = rec, depth, reason
    return n + 1


@njit(cache=True)
def decode_record(buf: Buf, pos: int, end: int, linktype: int, rec: int, rows: Rows, n: int) -> Int:
    """Append the rows of one record at `rows[n]`; return the new row count."""
    if linktype < 0:
        return _reason(rows, n, rec, 0, R.UNKNOWN_INTERFACE)
    layer, pos, reason = parse_link(buf, pos, end, linktype)
    depth = 0
    while True:
        if reason != R.OK:
            return _reason(rows, n, rec, depth, reason)
        if layer == L_NONE:
            return n
        if layer == L_ETHER:
            layer, pos, reason = parse_ether(buf, pos, end)
            continue
        if layer == L_PPP:
            layer, pos, reason = parse_ppp(buf, pos, end)
            continue
        if layer == L_IP_ANY:  # raw IP: the version nibble says which
            version = buf[pos] >> 4 if pos < end else 0
            layer = L_IPV4 if version == 4 else L_IPV6 if version == 6 else L_NONE
            if layer == L_NONE:
                reason = R.BAD_IP_HEADER if pos < end else R.TRUNCATED_IP
            continue
        if depth > MAX_DEPTH:
            return _reason(rows, n, rec, depth, R.TUNNEL_TOO_DEEP)
        ip = parse_ipv4(buf, pos, end) if layer == L_IPV4 else parse_ipv6(buf, pos, end)
        if ip.reason != R.OK:
            return _reason(rows, n, rec, depth, ip.reason)
        sport = dport = flags = 0
        later_fragment = ip.frag == FRAG_MIDDLE or ip.frag == FRAG_LAST
        if not later_fragment:
            reason, sport, dport, flags = parse_transport(buf, ip.payload, ip.payload_end, ip.proto)
            if reason != R.OK:
                return _reason(rows, n, rec, depth, reason)
        row = rows[n]
        row[REC], row[DEPTH], row[VERSION], row[PROTO] = (
            rec,
            depth,
            4 if layer == L_IPV4 else 6,
            ip.proto,
        )
        row[SRC_HI], row[SRC_LO], row[DST_HI], row[DST_LO] = (
            ip.src_hi,
            ip.src_lo,
            ip.dst_hi,
            ip.dst_lo,
        )
        row[SPORT], row[DPORT], row[IP_LEN], row[TCP_FLAGS] = sport, dport, ip.length, flags
        row[FRAG], row[FRAG_ID], row[REASON] = ip.frag, ip.frag_id, R.OK
        if later_fragment:
            row[PAYLOAD] = row[PAYLOAD_LEN] = row[TCP_SEQ] = 0
        else:
            row[PAYLOAD], row[PAYLOAD_LEN], row[TCP_SEQ] = payload_span(
                buf, ip.payload, ip.payload_end, ip.proto
            )
        n += 1
        if later_fragment or ip.frag == FRAG_FIRST:
            return n  # a tunnel inside a fragment needs reassembly, which we do not do
        layer, pos, reason = inner_layer(buf, ip.payload, ip.payload_end, ip.proto, sport, dport)
        end = ip.payload_end
        depth += 1


@njit(cache=True, nogil=True)
def decode_records(
    buf: U8, offset: I64, caplen: I64, linktype: I64, start: int, rows: Rows
) -> tuple[Int, Int]:
    """Decode records from `start` until done or `rows` is nearly full; -> (next record, rows)."""
    n = 0
    i = start
    limit = rows.shape[0] - ROWS_PER_RECORD
    while i < offset.shape[0] and n <= limit:
        pos = offset[i]
        n = decode_record(buf, pos, pos + caplen[i], linktype[i], i, rows, n)
        i += 1
    return i, n


class Decoder:
    """Owns the row buffer; yields row blocks for a batch (each valid until the next one)."""

    def __init__(self, capacity: int = 1 << 17) -> None:
        self.rows: Rows = np.zeros((capacity, N_COLUMNS), np.uint64)

    def decode(self, batch: RecordBatch) -> Iterator[Rows]:
        start = 0
        while start < batch.size:
            start, n = decode_records(
                batch.data, batch.offset, batch.caplen, batch.linktype, start, self.rows
            )
            yield self.rows[:n]
