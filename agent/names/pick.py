"""Which decoder rows can still give a name, picked by compiled code so Python sees only those.

Why: a capture has millions of rows and a few thousand names. `pick` walks a block of rows once
and sorts out the few that matter: DNS responses on port 53 (UDP with answers, and TCP), and
the client's first bytes of each flow not yet decided. The common first bytes are settled here
too, by the one reader of each protocol: a QUIC short header (no name to come), a ClientHello
whole in one record (`tls_hello`) and an HTTP request head whole in one segment (`http_host`),
or first bytes that are neither. The rest, in row order, is left to Python, which reassembles
what spans segments and reads it with the same `first_name`.

What is kept between blocks (`PickState`) costs one byte per flow, as the decided flag alone did:
- by flow serial, DECIDED (the flow gave its name, showed it has none, or ended: its rows are
  ignored), SLOW (Python holds state for it, a reorder buffer or a QUIC CRYPTO stream, so all
  its rows go to Python, in order) and NAMED (it has a name of its own, for `names_of_flows`);
- where a client's stream starts (after its SYN), in a fixed ring of slots by serial: it is
  needed only until the flow's first bytes. When a new SYN needs the slot of a flow still
  waiting for them, that flow is handed to Python (`Picked.handed`) with its start.
"""

from __future__ import annotations

from typing import NamedTuple

import cython
import numpy as np
from cython.cimports.agent.cdefs import Bytes, Col, Flags, Hello, Pos, RowView, Scratch, Table
from cython.cimports.agent.names import codes as P
from cython.cimports.agent.names import tcp as S
from cython.cimports.agent.wire import http as H
from cython.cimports.agent.wire import numbers as N
from cython.cimports.agent.wire import rows as D
from cython.cimports.agent.wire import tls as T
from cython.cimports.agent.wire.bytes import u16be
from cython.cimports.agent.wire.http_host import read_head
from cython.cimports.agent.wire.tls_hello import hello_span

from agent.names.codes import SYN_SLOTS
from agent.wire.batch import I64, U8
from agent.wire.rows import Rows

SEQ_MODULUS = cython.declare(cython.ulonglong, 1 << 32)


class PickState:
    """Per-flow flags by serial, and the ring of stream starts (see the module docstring)."""

    def __init__(self, syn_slots: int = SYN_SLOTS) -> None:
        self.flags: U8 = np.zeros(1 << 16, np.uint8)
        self.syn_serial: I64 = np.full(syn_slots, -1, np.int64)
        self.syn_next: I64 = np.zeros(syn_slots, np.int64)

    def grow(self, size: int) -> None:
        """Hold flags for serials below `size`."""
        if size > len(self.flags):
            grown = np.zeros(max(2 * len(self.flags), size), np.uint8)
            grown[: len(self.flags)] = self.flags
            self.flags = grown

    def syn(self, serial: int) -> int:
        """Where the flow's client stream starts, if its SYN was seen and it is not handed on;
        -1 if not."""
        slot = serial % len(self.syn_serial)
        return int(self.syn_next[slot]) if self.syn_serial[slot] == serial else -1


class Picked(NamedTuple):
    """Row numbers of one block of decoder rows, each kind in row order."""

    dns: I64
    """UDP on port 53 carrying a DNS response with answers."""
    dns_tcp: I64
    """TCP on port 53 with payload, either direction."""
    named: I64
    """Flows decided here: (row, name offset, name length (0: none), SNI/SNI_ECH/HTTP)."""
    python: I64
    """Client payloads of undecided flows that need the Python parsers."""
    handed: I64
    """(serial, stream start) of flows whose SYN slot was taken: Python holds them now."""


def pick(rows: Rows, data: U8, state: PickState) -> Picked:
    """Sort out the rows that matter, updating `state` (see the module docstring)."""
    return Picked(*_pick(rows, data, state.flags, state.syn_serial, state.syn_next))


@cython.ccall
def _pick(
    rows: RowView, data: Bytes, flags: Flags, syn_serial: Col, syn_next: Col
) -> tuple[I64, I64, I64, I64, I64]:
    handed = _syns(rows, flags, syn_serial, syn_next)
    no_room: Scratch = np.empty(0, np.uint8)  # a hello over several records goes to Python
    n: Pos = rows.shape[0]
    dns, dns_tcp, python = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
    named = np.empty((n, 4), np.int64)
    dns_v: Col = dns
    tcp_v: Col = dns_tcp
    py_v: Col = python
    named_v: Table = named
    nd: Pos = 0
    nt: Pos = 0
    nn: Pos = 0
    npy: Pos = 0
    i: Pos
    proto: cython.ulonglong
    at: Pos
    size: Pos
    s: Pos
    slot: Pos
    first: cython.bint
    seq: cython.longlong
    found: cython.int
    name_at: Pos
    name_len: Pos
    source: cython.int
    with cython.nogil:
        for i in range(n):
            if rows[i, D.REASON] != 0 or rows[i, D.PAYLOAD_LEN] == 0:
                continue
            proto = rows[i, D.PROTO]
            if proto != N.IP_TCP and proto != N.IP_UDP:
                continue
            at, size = rows[i, D.PAYLOAD], rows[i, D.PAYLOAD_LEN]
            if rows[i, D.SPORT] == P.DNS_PORT or rows[i, D.DPORT] == P.DNS_PORT:
                if proto == N.IP_TCP:
                    tcp_v[nt] = i
                    nt += 1
                elif _has_answers(data, at, size):
                    dns_v[nd] = i
                    nd += 1
                continue
            s = rows[i, D.SERIAL]
            if rows[i, D.FORWARD] != 1 or flags[s] & P.DECIDED:
                continue
            if not flags[s] & P.SLOW:
                if proto == N.IP_UDP and data[at] & 0xC0 != 0xC0:
                    flags[s] |= P.DECIDED  # a QUIC short header: the handshake is over
                    continue
                slot = s % syn_serial.shape[0]
                seq = rows[i, D.TCP_SEQ]
                first = syn_serial[slot] != s or syn_next[slot] == seq
                if proto == N.IP_TCP and first:  # the stream's first bytes
                    found, name_at, name_len, source = first_name(data, at, at + size, no_room)
                    if found == N.FOUND:
                        flags[s] |= P.DECIDED
                        named_v[nn, 0], named_v[nn, 1] = i, name_at
                        named_v[nn, 2], named_v[nn, 3] = name_len, source
                        nn += 1
                        continue
                flags[s] |= P.SLOW
            py_v[npy] = i
            npy += 1
    return dns[:nd], dns_tcp[:nt], named[:nn], python[:npy], handed


@cython.ccall
def _syns(rows: RowView, flags: Flags, syn_serial: Col, syn_next: Col) -> I64:
    """A client SYN fixes where its stream starts, whatever order the segments then come in.
    Only the first counts, and only before Python holds the flow (it then knows the start).
    -> (serial, start) of the flows handed to Python for their slot."""
    handed = np.empty((rows.shape[0], 2), np.int64)
    out: Table = handed
    n: Pos = 0
    i: Pos
    s: Pos
    slot: Pos
    held: Pos
    flag_bits: cython.ulonglong
    seq: cython.ulonglong
    with cython.nogil:
        for i in range(rows.shape[0]):
            flag_bits = rows[i, D.TCP_FLAGS]
            if flag_bits & N.TH_SYN == 0 or flag_bits & N.TH_ACK != 0 or rows[i, D.REASON] != 0:
                continue
            if rows[i, D.PROTO] != N.IP_TCP or rows[i, D.FORWARD] != 1:
                continue
            s = rows[i, D.SERIAL]
            slot = s % syn_serial.shape[0]
            held = syn_serial[slot]
            if flags[s] != 0 or held == s:
                continue
            if held >= 0 and flags[held] == 0:  # still waiting for its first bytes
                flags[held] |= P.SLOW
                out[n, 0], out[n, 1] = held, syn_next[slot]
                n += 1
            syn_serial[slot] = s
            seq = rows[i, D.TCP_SEQ]
            syn_next[slot] = (seq + 1) % SEQ_MODULUS
    return handed[:n]


@cython.ccall
@cython.exceptval(check=False)
@cython.nogil
def first_name(data: Bytes, start: Pos, end: Pos, scratch: Scratch) -> Hello:
    """A client stream's first bytes `data[start:end]` read as TLS (they begin with a handshake
    record) or else as HTTP: (FOUND, name offset, its length (0: none), SNI/SNI_ECH/HTTP) once
    the flow is decided (a name, none, or bytes that are neither), else UNSURE (more bytes
    may come, up to FIRST_BYTES). An HTTP Host is the raw value, a SNI the raw name; COPIED in
    the source: the name is in `scratch`."""
    if end <= start:
        return N.UNSURE, 0, 0, P.HTTP
    found: cython.int
    name_at: Pos
    name_len: Pos
    flags: cython.int
    if data[start] == T.HANDSHAKE:
        found, name_at, name_len, flags = hello_span(data, start, end, scratch)
        if found == T.HELLO_DONE or found == T.HELLO_BAD:
            source: cython.int = P.SNI_ECH if flags & T.HAS_ECH else P.SNI
            return N.FOUND, name_at, name_len, source | (P.COPIED if flags & T.IN_SCRATCH else 0)
        if found == T.HELLO_MORE and end - start >= S.FIRST_BYTES:
            return N.FOUND, 0, 0, P.SNI
        return N.UNSURE, 0, 0, P.SNI
    kind: cython.int
    head_len: Pos
    line_end: Pos
    host_line: Pos
    host_at: Pos
    host_end: Pos
    kind, head_len, line_end, host_line, host_at, host_end = read_head(data, start, end)
    if kind == H.HEAD_MORE and end - start < S.FIRST_BYTES:
        return N.UNSURE, 0, 0, P.HTTP
    if kind != H.HEAD_DONE or host_line < 0:
        return N.FOUND, 0, 0, P.HTTP  # refused, too long, or no Host: no name
    return N.FOUND, start + host_at, host_end - host_at, P.HTTP


@cython.cfunc
@cython.exceptval(check=False)
@cython.inline
@cython.nogil
def _has_answers(data: Bytes, at: Pos, size: Pos) -> cython.bint:
    """A DNS response with answers, judged from its header."""
    return size >= 12 and data[at + 2] & 0x80 != 0 and u16be(data, at + 6) > 0
