"""Compiled per-packet flow accounting over decoder rows.

Flows are rows of one uint64 array `F`, found by their canonical key (the smaller endpoint
first) through an open-addressing table. A flow ends when its TCP 5-tuple is reused after a
close, or when it idles or lives past the timeouts; ended flows are copied to `out` and their
row is reused. Fragments after the first find their flow through a second, small table `FR`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

from agent.flows.hashing import EMPTY, find, remove
from agent.wire import decode as D
from agent.wire import reasons as R
from agent.wire.bytes import Int
from agent.wire.ip import FRAG_FIRST, FRAG_LAST, FRAG_MIDDLE
from agent.wire.transport import IP_TCP, TH_ACK, TH_FIN, TH_RST, TH_SYN, has_ports

Cols = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

# Flow columns: the key, who started it, then counters for side A (the smaller endpoint) and B.
(K0, K1, K2, K3, K4, A_STARTED, PKT_A, PKT_B, IP_A, IP_B, FRAME_A, FRAME_B,
 FLAGS_A, FLAGS_B, FIRST, LAST, STATE, END, SERIAL) = range(19)  # fmt: skip
N_COLUMNS = 19
# Fragment columns: the datagram's key, then its flow's key, side and time.
FLOW_KEY, FRAG_SIDE, FRAG_TS = 5, 10, 11
N_FRAG_COLUMNS = 12

FIN_A, FIN_B, RESET = 1, 2, 4
# A_STARTED holds who started the flow (bit 0: side A) and how that was decided (bits 1-2).
A_FIRST = 1
BY_FIRST_PACKET, BY_SYN, BY_PORTS = 0, 1, 2
HOW_SHIFT = 1
DIRECTION_NAMES = ("first-packet", "syn", "ports")
"""How the initiator was decided, by BY_* code, as the analysis names it."""
END_EOF, END_IDLE, END_ACTIVE, END_REUSED = 0, 1, 2, 3
END_NAMES = ("eof", "idle", "active", "reused")

# `state` cells and `account` outcomes.
FREE_FLOWS, ENDED, FREE_FRAGS, NEXT_SERIAL = 0, 1, 2, 3
OK, NEED_ROWS, OUT_FULL = 0, 1, 2
FRAGMENT_TTL_NS = 60 * 10**9


@njit(cache=True, inline="always")
def _key(row: Cols) -> tuple[tuple[Any, ...], Int]:
    """-> (canonical key, 0 when the packet's source is side A else 1)."""
    s = (row[D.SRC_HI], row[D.SRC_LO], row[D.SPORT])
    d = (row[D.DST_HI], row[D.DST_LO], row[D.DPORT])
    side = 0 if s <= d else 1
    a, b = (s, d) if side == 0 else (d, s)
    tail = (a[2] << np.uint64(48)) | (b[2] << np.uint64(32)) | (row[D.PROTO] << np.uint64(16))
    tail |= (row[D.DEPTH] << np.uint64(8)) | row[D.VERSION]
    return (a[0], a[1], b[0], b[1], tail), side


@njit(cache=True, inline="always")
def _frag_key(row: Cols) -> tuple[Any, ...]:
    """Fragments of one datagram share addresses, protocol, tunnel depth and identification."""
    tail = (row[D.PROTO] << np.uint64(40)) | (row[D.DEPTH] << np.uint64(32)) | row[D.FRAG_ID]
    return (row[D.SRC_HI], row[D.SRC_LO], row[D.DST_HI], row[D.DST_LO], tail)


@njit(cache=True)
def _end(F: Cols, fid: Int, why: Int, out: Cols, state: I64) -> None:
    F[fid, END] = why
    out[state[ENDED]] = F[fid]
    state[ENDED] += 1


@njit(cache=True)
def _start(
    F: Cols, fid: Int, key: tuple[Any, ...], side: Int, flags: Int, ts: Int, state: I64
) -> None:
    F[fid] = 0
    F[fid, SERIAL] = state[NEXT_SERIAL]
    state[NEXT_SERIAL] += 1
    for c in range(5):
        F[fid, K0 + c] = key[c]
    starter, how = side, BY_FIRST_PACKET
    if flags & TH_SYN:
        how = BY_SYN
        if flags & TH_ACK:
            starter = 1 - side  # a SYN/ACK answers: its receiver started the connection
    elif has_ports((key[4] >> np.uint64(16)) & np.uint64(0xFF)):
        ports = key[4] >> np.uint64(32)
        server = _server_side(ports >> np.uint64(16), ports & np.uint64(0xFFFF))
        if server >= 0:
            how = BY_PORTS
            starter = 1 - server
    F[fid, A_STARTED] = (A_FIRST if starter == 0 else 0) | (how << HOW_SHIFT)
    F[fid, FIRST] = ts


EPHEMERAL = 32768
"""Where Linux starts the ports it picks for clients (Windows and the IANA range start at 49152)."""


@njit(cache=True, inline="always")
def _port_rank(port: Int) -> Int:
    """0: well-known (< 1024), 1: registered, 2: ephemeral. A server listens on the lower rank."""
    if port < 1024:
        return 0
    return 1 if port < EPHEMERAL else 2


@njit(cache=True)
def _server_side(port_a: Int, port_b: Int) -> Int:
    """Which side (0: A, 1: B) is the server when no SYN says so, by its port's rank, as Zeek
    and tshark guess for connections seen mid-way; -1 when the ports do not tell."""
    ra, rb = _port_rank(np.int64(port_a)), _port_rank(np.int64(port_b))
    if ra == rb:
        return -1
    return 0 if ra < rb else 1


@njit(cache=True)
def _ends_before(F: Cols, fid: Int, tcp: bool, flags: Int, ts: Int, idle: Int, active: Int) -> Int:
    """Does this packet belong to a new flow on the same key? -> END_* reason, or -1."""
    if idle and ts - np.int64(F[fid, LAST]) > idle:
        return END_IDLE
    if active and ts - np.int64(F[fid, FIRST]) > active:
        return END_ACTIVE
    if tcp and flags & (TH_SYN | TH_ACK) == TH_SYN:
        st = F[fid, STATE]
        if st & RESET or st & (FIN_A | FIN_B) == FIN_A | FIN_B:
            return END_REUSED
    return -1


@njit(cache=True)
def _remember_fragment(
    row: Cols, key: tuple[Any, ...], side: Int, ts: Int, fslots: I64, FR: Cols, ffree: I64,
    state: I64,
) -> None:  # fmt: skip
    """Note which flow a first fragment went to, for the fragments that follow it."""
    fkey = _frag_key(row)
    slot, fr = find(fslots, FR, fkey)
    if fr == EMPTY:
        if state[FREE_FRAGS] == 0:
            return  # table full: the rest of this datagram will count as orphans
        state[FREE_FRAGS] -= 1
        fr = ffree[state[FREE_FRAGS]]
        fslots[slot] = fr
    for c in range(5):
        FR[fr, c] = fkey[c]
        FR[fr, FLOW_KEY + c] = key[c]
    FR[fr, FRAG_SIDE], FR[fr, FRAG_TS] = side, ts


@njit(cache=True, nogil=True)
def account(
    rows: Cols, start: Int, ts: I64, frame_len: I64, slots: I64, F: Cols, free: I64,
    fslots: I64, FR: Cols, ffree: I64, out: Cols, state: I64, idle: Int, active: Int,
    status: I64,
) -> Int:  # fmt: skip
    """Account rows from `start`; -> the next row.

    Stops early with `status[0]` = NEED_ROWS (grow `F`) or OUT_FULL (drain `out`). Rows that
    cannot be accounted get their reason written in place (fragments whose first part was not seen).
    """
    status[0] = OK
    for i in range(start, rows.shape[0]):
        if state[FREE_FLOWS] == 0:
            status[0] = NEED_ROWS
            return i
        if state[ENDED] + 2 > out.shape[0]:
            status[0] = OUT_FULL
            return i
        row = rows[i]
        if row[D.REASON] != R.OK:
            continue
        t = ts[row[D.REC]]
        frag = row[D.FRAG]
        if frag == FRAG_MIDDLE or frag == FRAG_LAST:
            fslot, fr = find(fslots, FR, _frag_key(row))
            if fr == EMPTY:
                row[D.REASON] = R.FRAGMENT_WITHOUT_FIRST
                continue
            v = FR[fr]
            key = (v[FLOW_KEY], v[FLOW_KEY + 1], v[FLOW_KEY + 2], v[FLOW_KEY + 3], v[FLOW_KEY + 4])
            side = np.int64(v[FRAG_SIDE])
            if frag == FRAG_LAST:
                remove(fslots, FR, fslot)
                ffree[state[FREE_FRAGS]] = fr
                state[FREE_FRAGS] += 1
        else:
            key, side = _key(row)
            if frag == FRAG_FIRST:
                _remember_fragment(row, key, side, t, fslots, FR, ffree, state)
        flags = np.int64(row[D.TCP_FLAGS])
        tcp = row[D.PROTO] == IP_TCP
        slot, fid = find(slots, F, key)
        if fid == EMPTY:
            state[FREE_FLOWS] -= 1
            fid = free[state[FREE_FLOWS]]
            slots[slot] = fid
            _start(F, fid, key, side, flags, t, state)
        else:
            why = _ends_before(F, fid, tcp, flags, t, idle, active)
            if why >= 0:
                _end(F, fid, why, out, state)
                _start(F, fid, key, side, flags, t, state)
        row[D.SERIAL] = F[fid, SERIAL]
        row[D.FORWARD] = 1 if (side == 0) == (F[fid, A_STARTED] & A_FIRST == A_FIRST) else 0
        F[fid, PKT_A + side] += 1
        F[fid, IP_A + side] += row[D.IP_LEN]
        F[fid, FRAME_A + side] += frame_len[row[D.REC]]
        F[fid, FLAGS_A + side] |= flags
        F[fid, LAST] = max(np.int64(F[fid, LAST]), t)
        if tcp:
            if flags & TH_RST:
                F[fid, STATE] |= RESET
            if flags & TH_FIN:
                F[fid, STATE] |= FIN_A if side == 0 else FIN_B
    return rows.shape[0]


@njit(cache=True, nogil=True)
def expire(
    slots: I64, F: Cols, free: I64, fslots: I64, FR: Cols, ffree: I64, out: Cols, state: I64,
    now: Int, idle: Int, active: Int, flush: bool,
) -> bool:  # fmt: skip
    """End flows idle or active too long at capture time `now` (all of them when `flush`).

    Returns False when `out` filled up first: drain it and call again.
    """
    done: list[tuple[Int, Int]] = []
    room = out.shape[0] - state[ENDED]
    for fid in slots:  # collect first: removal moves entries around
        if fid == EMPTY:
            continue
        if len(done) == room:
            break
        if flush:
            done.append((fid, END_EOF))
        elif idle and now - np.int64(F[fid, LAST]) > idle:
            done.append((fid, END_IDLE))
        elif active and now - np.int64(F[fid, FIRST]) > active:
            done.append((fid, END_ACTIVE))
    for fid, why in done:
        slot, _ = find(slots, F, F[fid])
        remove(slots, F, slot)
        _end(F, fid, why, out, state)
        free[state[FREE_FLOWS]] = fid
        state[FREE_FLOWS] += 1
    stale = [
        fr
        for fr in fslots
        if fr != EMPTY and (flush or now - np.int64(FR[fr, FRAG_TS]) > FRAGMENT_TTL_NS)
    ]
    for fr in stale:
        slot, _ = find(fslots, FR, FR[fr])
        remove(fslots, FR, slot)
        ffree[state[FREE_FRAGS]] = fr
        state[FREE_FRAGS] += 1
    return len(done) < room
