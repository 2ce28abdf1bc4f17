"""Compiled per-packet flow accounting over decoder rows.

Flows are rows of one uint64 array `F`, found through a typed dict from the canonical key (the
smaller endpoint first) to the row. A flow ends when its TCP 5-tuple is reused after a close, or
when it idles or lives past the timeouts; ended flows are copied to `out` and their row is reused.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit, types

from agent.wire import decode as D
from agent.wire import reasons as R
from agent.wire.bytes import Int
from agent.wire.ip import FRAG_FIRST, FRAG_LAST, FRAG_MIDDLE
from agent.wire.transport import IP_TCP, TH_ACK, TH_FIN, TH_RST, TH_SYN

Cols = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
KEY = types.UniTuple(types.uint64, 5)
FRAG_VALUE = types.UniTuple(types.uint64, 7)

# Flow columns: the key, who started it, then counters for side A (the smaller endpoint) and B.
(K0, K1, K2, K3, K4, A_STARTED, PKT_A, PKT_B, IP_A, IP_B, FRAME_A, FRAME_B,
 FLAGS_A, FLAGS_B, FIRST, LAST, STATE, END) = range(18)  # fmt: skip
N_COLUMNS = 18

FIN_A, FIN_B, RESET = 1, 2, 4
END_EOF, END_IDLE, END_ACTIVE, END_REUSED = 0, 1, 2, 3
END_NAMES = ("eof", "idle", "active", "reused")

OK, NEED_ROWS, OUT_FULL = 0, 1, 2
FRAGMENT_TTL_NS = 60 * 10**9


@njit(cache=True, inline="always")
def _key(row: Cols) -> tuple[tuple[Any, ...], int]:
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
def _end(F: Cols, fid: int, why: int, out: Cols, state: I64) -> None:
    F[fid, END] = why
    out[state[1]] = F[fid]
    state[1] += 1


@njit(cache=True)
def _start(F: Cols, fid: int, key: tuple[Any, ...], side: int, flags: int, ts: int) -> None:
    F[fid] = 0
    F[fid, K0], F[fid, K1], F[fid, K2], F[fid, K3], F[fid, K4] = key
    starter = side
    if flags & (TH_SYN | TH_ACK) == TH_SYN | TH_ACK:
        starter = 1 - side  # a SYN/ACK answers: its receiver started the connection
    F[fid, A_STARTED] = 1 if starter == 0 else 0
    F[fid, FIRST] = ts


@njit(cache=True)
def _ends_before(F: Cols, fid: int, tcp: bool, flags: int, ts: int, idle: int, active: int) -> Int:
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
def account(
    rows: Cols, start: int, ts: I64, frame_len: I64, index: Any, frags: Any,
    F: Cols, free: I64, out: Cols, state: I64, idle: int, active: int, status: I64,
) -> Int:  # fmt: skip
    """Account rows from `start`; -> the next row. `state` = [free ids, ended in `out`].

    Stops early with `status[0]` = NEED_ROWS (grow `F`) or OUT_FULL (drain `out`). Rows that
    cannot be accounted get their reason written in place (fragments whose first part was not seen).
    """
    status[0] = OK
    for i in range(start, rows.shape[0]):
        if state[0] == 0:
            status[0] = NEED_ROWS
            return i
        if state[1] + 2 > out.shape[0]:
            status[0] = OUT_FULL
            return i
        row = rows[i]
        if row[D.REASON] != R.OK:
            continue
        t = ts[row[D.REC]]
        frag = row[D.FRAG]
        if frag == FRAG_MIDDLE or frag == FRAG_LAST:
            fkey = _frag_key(row)
            if fkey not in frags:
                row[D.REASON] = R.FRAGMENT_WITHOUT_FIRST
                continue
            v = frags[fkey]
            key, side = (v[0], v[1], v[2], v[3], v[4]), np.int64(v[5])
            if frag == FRAG_LAST:
                del frags[fkey]
        else:
            key, side = _key(row)
            if frag == FRAG_FIRST:
                frags[_frag_key(row)] = (
                    key[0],
                    key[1],
                    key[2],
                    key[3],
                    key[4],
                    np.uint64(side),
                    np.uint64(t),
                )
        flags = int(row[D.TCP_FLAGS])
        tcp = row[D.PROTO] == IP_TCP
        if key in index:
            fid = index[key]
            why = _ends_before(F, fid, tcp, flags, t, idle, active)
            if why >= 0:
                _end(F, fid, why, out, state)
                _start(F, fid, key, side, flags, t)
        else:
            state[0] -= 1
            fid = free[state[0]]
            index[key] = fid
            _start(F, fid, key, side, flags, t)
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


@njit(cache=True)
def expire(
    index: Any, frags: Any, F: Cols, free: I64, out: Cols, state: I64, now: int, idle: int,
    active: int, flush: bool,
) -> bool:  # fmt: skip
    """End flows idle or active too long at capture time `now` (all of them when `flush`).

    Returns False when `out` filled up first: drain it and call again.
    """
    done: list[tuple[Any, Int, Int]] = []
    complete = True
    for key, fid in index.items():  # collect first: a dict cannot change while iterated
        if state[1] + len(done) >= out.shape[0]:
            complete = False
            break
        if flush:
            done.append((key, fid, END_EOF))
        elif idle and now - np.int64(F[fid, LAST]) > idle:
            done.append((key, fid, END_IDLE))
        elif active and now - np.int64(F[fid, FIRST]) > active:
            done.append((key, fid, END_ACTIVE))
    for key, fid, why in done:
        del index[key]
        _end(F, fid, why, out, state)
        free[state[0]] = fid
        state[0] += 1
    stale = [k for k, v in frags.items() if flush or now - np.int64(v[6]) > FRAGMENT_TTL_NS]
    for k in stale:
        del frags[k]
    return complete
