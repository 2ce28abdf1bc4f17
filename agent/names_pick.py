"""Which decoder rows can still give a name, picked by compiled code so Python sees only those.

Why: a capture has millions of rows and a few thousand names. `pick` walks a block of rows once
and sorts out the few that matter: DNS responses on port 53 (UDP with answers, and TCP), and
the client's first bytes of each flow not yet decided. The common first bytes are settled here
too: a QUIC short header (no name to come), a ClientHello whole in one record (`sni`) and an
HTTP request head whole in one segment (`http_host`). The rest, in row order, is left to Python.

Per-flow state lives in arrays indexed by flow serial, owned by `NameFinder`:
- `decided`: the flow gave its name or showed it has none; its rows are ignored.
- `syn`: the sequence number after the client's SYN (-1: none seen), where its stream starts.
- `slow`: Python holds state for the flow (a reorder buffer, a QUIC CRYPTO stream), so all its
  rows go to Python, in order.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from numba import njit

from agent.wire import decode as D
from agent.wire.bytes import Buf, Int, u16be
from agent.wire.http_host import host_span
from agent.wire.sni import FOUND, hello_span
from agent.wire.transport import IP_TCP, IP_UDP, TH_ACK, TH_SYN

DNS_PORT = 53
HANDSHAKE = 0x16
SNI, SNI_ECH, HTTP = range(3)
"""Where a name settled here comes from: a ClientHello (with ECH: the outer name), a Host."""

I64 = npt.NDArray[np.int64]
Flags = npt.NDArray[np.bool_]


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


def pick(rows: D.Rows, data: Buf, decided: Flags, syn: I64, slow: Flags) -> Picked:
    """Sort out the rows that matter; updates the flow arrays (see the module docstring)."""
    return Picked(*_pick(rows, data, decided, syn, slow))


@njit(cache=True)
def _pick(
    rows: D.Rows, data: Buf, decided: Flags, syn: I64, slow: Flags
) -> tuple[I64, I64, I64, I64]:
    _syns(rows, decided, syn, slow)
    n = rows.shape[0]
    dns, dns_tcp, python = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
    named = np.empty((n, 4), np.int64)
    nd = nt = nn = npy = 0
    for i in range(n):
        if rows[i, D.REASON] != 0 or rows[i, D.PAYLOAD_LEN] == 0:
            continue
        proto = rows[i, D.PROTO]
        if proto != IP_TCP and proto != IP_UDP:
            continue
        at, size = np.int64(rows[i, D.PAYLOAD]), np.int64(rows[i, D.PAYLOAD_LEN])
        if rows[i, D.SPORT] == DNS_PORT or rows[i, D.DPORT] == DNS_PORT:
            if proto == IP_TCP:
                dns_tcp[nt] = i
                nt += 1
            elif _has_answers(data, at, size):
                dns[nd] = i
                nd += 1
            continue
        s = np.int64(rows[i, D.SERIAL])
        if rows[i, D.FORWARD] != 1 or decided[s]:
            continue
        if not slow[s]:
            if proto == IP_UDP and data[at] & 0xC0 != 0xC0:
                decided[s] = True  # a QUIC short header: the handshake is over
                continue
            seq = np.int64(rows[i, D.TCP_SEQ])
            if proto == IP_TCP and (syn[s] < 0 or syn[s] == seq):  # the stream's first bytes
                found, name_at, name_len, source = _first_name(data, at, at + size)
                if found == FOUND:
                    decided[s] = True
                    row = named[nn]
                    row[0], row[1], row[2], row[3] = i, name_at, name_len, source
                    nn += 1
                    continue
            slow[s] = True
        python[npy] = i
        npy += 1
    return dns[:nd], dns_tcp[:nt], named[:nn], python[:npy]


@njit(cache=True)
def _first_name(data: Buf, start: Int, end: Int) -> tuple[Int, Int, Int, Int]:
    """A client stream's first bytes, read as TLS or HTTP as `NameFinder._tcp_start` does."""
    if data[start] == HANDSHAKE:
        found, name_at, name_len, ech = hello_span(data, start, end)
        return found, name_at, name_len, SNI_ECH if ech else SNI
    found, name_at, name_len = host_span(data, start, end)
    return found, name_at, name_len, HTTP


@njit(cache=True)
def _syns(rows: D.Rows, decided: Flags, syn: I64, slow: Flags) -> None:
    """A client SYN fixes where its stream starts, whatever order the segments then come in.
    Only the first counts, and only before Python holds the flow (it then knows the start)."""
    for i in range(rows.shape[0]):
        flags = rows[i, D.TCP_FLAGS]
        if rows[i, D.REASON] != 0 or rows[i, D.PROTO] != IP_TCP or rows[i, D.FORWARD] != 1:
            continue
        if flags & TH_SYN == 0 or flags & TH_ACK != 0:
            continue
        s = np.int64(rows[i, D.SERIAL])
        if not decided[s] and not slow[s] and syn[s] < 0:
            syn[s] = (np.int64(rows[i, D.TCP_SEQ]) + 1) % (1 << 32)


@njit(cache=True, inline="always")
def _has_answers(data: Buf, at: Int, size: Int) -> bool:
    """A DNS response with answers, judged from its header."""
    return bool(size >= 12 and data[at + 2] & 0x80 != 0 and u16be(data, at + 6) > 0)
