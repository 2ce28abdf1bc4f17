"""The batch decoder: records in, one row per IP layer that carries a flow out.

A packet gives one row for the flow that leaves the host (depth 0) and one more per tunnel it
carries (depth 1, 2 ...). A record or layer that cannot be used gives a row with its reason.
Rows are uint64 columns of one 2-D array (`agent.wire.rows` names them): no Python object per
packet. Compiled (Cython, pure-Python mode); the row buffer is owned by `Decoder`.
"""

from __future__ import annotations

from collections.abc import Iterator

import cython
import numpy as np
from cython.cimports.agent.cdefs import Bytes, ICol, Pos, RowView, prefetch
from cython.cimports.agent.wire import numbers as N
from cython.cimports.agent.wire import reasons as R
from cython.cimports.agent.wire import rows as D
from cython.cimports.agent.wire.ip import parse_ipv4, parse_ipv6
from cython.cimports.agent.wire.link import parse_ether, parse_link, parse_ppp
from cython.cimports.agent.wire.transport import parse_transport, payload_span
from cython.cimports.agent.wire.tunnel import inner_layer

from agent.wire.batch import RecordBatch
from agent.wire.rows import N_COLUMNS, Rows

PREFETCH_RECORDS = cython.declare(cython.Py_ssize_t, 8)
"""How many records ahead the decoder asks for a record's first bytes."""


@cython.cfunc
@cython.exceptval(check=False)
@cython.inline
@cython.nogil
def _reason(rows: RowView, n: Pos, rec: Pos, depth: cython.int, reason: cython.int) -> Pos:
    rows[n, D.REC], rows[n, D.DEPTH], rows[n, D.REASON] = rec, depth, reason
    return n + 1


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def decode_record(
    buf: Bytes, pos: Pos, end: Pos, linktype: cython.longlong, rec: Pos, rows: RowView, n: Pos
) -> Pos:
    """Append the rows of one record at `rows[n]`; return the new row count."""
    if linktype < 0:
        return _reason(rows, n, rec, 0, R.UNKNOWN_INTERFACE)
    layer: cython.int
    reason: cython.int
    version: cython.int
    layer, pos, reason = parse_link(buf, pos, end, linktype)
    depth: cython.int = 0
    payload: Pos
    payload_end: Pos
    proto: cython.longlong
    frag: cython.longlong
    sport: cython.longlong
    dport: cython.longlong
    flags: cython.longlong
    later_fragment: cython.bint
    while True:
        if reason != R.OK:
            return _reason(rows, n, rec, depth, reason)
        if layer == N.L_NONE:
            return n
        if layer == N.L_ETHER:
            layer, pos, reason = parse_ether(buf, pos, end)
            continue
        if layer == N.L_PPP:
            layer, pos, reason = parse_ppp(buf, pos, end)
            continue
        if layer == N.L_IP_ANY:  # raw IP: the version nibble says which
            version = buf[pos] >> 4 if pos < end else 0
            layer = N.L_IPV4 if version == 4 else N.L_IPV6 if version == 6 else N.L_NONE
            if layer == N.L_NONE:
                reason = R.BAD_IP_HEADER if pos < end else R.TRUNCATED_IP
            continue
        if depth > D.MAX_DEPTH:
            return _reason(rows, n, rec, depth, R.TUNNEL_TOO_DEEP)
        if layer == N.L_IPV4:
            reason, payload, payload_end = parse_ipv4(buf, pos, end, rows, n)
        else:
            reason, payload, payload_end = parse_ipv6(buf, pos, end, rows, n)
        if reason != R.OK:
            return _reason(rows, n, rec, depth, reason)
        proto, frag = rows[n, D.PROTO], rows[n, D.FRAG]
        sport = dport = flags = 0
        later_fragment = frag == N.FRAG_MIDDLE or frag == N.FRAG_LAST
        if not later_fragment:
            reason, sport, dport, flags = parse_transport(buf, payload, payload_end, proto)
            if reason != R.OK:
                return _reason(rows, n, rec, depth, reason)
        rows[n, D.REC], rows[n, D.DEPTH], rows[n, D.REASON] = rec, depth, R.OK
        rows[n, D.SPORT], rows[n, D.DPORT], rows[n, D.TCP_FLAGS] = sport, dport, flags
        if later_fragment:
            rows[n, D.PAYLOAD] = rows[n, D.PAYLOAD_LEN] = rows[n, D.TCP_SEQ] = 0
        else:
            rows[n, D.PAYLOAD], rows[n, D.PAYLOAD_LEN], rows[n, D.TCP_SEQ] = payload_span(
                buf, payload, payload_end, proto
            )
        n += 1
        if later_fragment or frag == N.FRAG_FIRST:
            return n  # a tunnel inside a fragment needs reassembly, which we do not do
        layer, pos, reason = inner_layer(buf, payload, payload_end, proto, sport, dport)
        end = payload_end
        depth += 1


@cython.ccall
def decode_records(
    buf: Bytes, offset: ICol, caplen: ICol, linktype: ICol, start: Pos, rows: RowView,
) -> tuple[Pos, Pos]:  # fmt: skip
    """Decode records from `start` until done or `rows` is nearly full; -> (next record, rows).

    Every record must lie inside `buf`: a record that does not is refused (ValueError)."""
    n: Pos = 0
    i: Pos = start
    limit: Pos = rows.shape[0] - D.ROWS_PER_RECORD
    size: Pos = buf.shape[0]
    pos: Pos
    end: Pos
    ahead: Pos
    if rows.shape[1] != D.N_COLUMNS:
        raise ValueError(f"rows have {rows.shape[1]} columns, not {D.N_COLUMNS}")
    with cython.nogil:
        while i < offset.shape[0] and n <= limit:
            if i + PREFETCH_RECORDS < offset.shape[0]:  # its headers, while this one is decoded
                ahead = offset[i + PREFETCH_RECORDS]
                if 0 <= ahead < size:
                    prefetch(cython.address(buf[ahead]))
            pos = offset[i]
            end = pos + caplen[i]
            if pos < 0 or end < pos or end > size:
                with cython.gil:
                    raise ValueError(f"record {i} at {pos}+{caplen[i]} lies outside the buffer")
            n = decode_record(buf, pos, end, linktype[i], i, rows, n)
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
