"""Compiled per-packet flow accounting over decoder rows.

Flows are rows of one uint64 array `F` (columns in `agent.flows.columns`), found by their
canonical key (the smaller endpoint first) through an open-addressing table. A flow ends when
its TCP 5-tuple is reused after a close, or when it idles or lives past the timeouts; ended
flows are copied to `out` and their row is reused. Fragments after the first find their flow
through a second, small table `FR`. Compiled (Cython, pure-Python mode).
"""

from __future__ import annotations

import cython
import numpy as np
from cython.cimports.agent.cdefs import Col, Cols, ICol, Key, Pos
from cython.cimports.agent.flows import columns as C
from cython.cimports.agent.flows.hashing import _find, _remove
from cython.cimports.agent.wire import numbers as N
from cython.cimports.agent.wire import reasons as R
from cython.cimports.agent.wire import rows as D
from cython.cimports.agent.wire.transport import has_ports

FRAGMENT_TTL_NS = cython.declare(cython.longlong, 60 * 10**9)


@cython.cfunc
@cython.exceptval(check=False)
@cython.inline
@cython.nogil
def _key(rows: Cols, i: Pos, key: Key) -> cython.int:
    """Write row `i`'s canonical key; -> 0 when the packet's source is side A, else 1."""
    s_hi: cython.ulonglong = rows[i, D.SRC_HI]
    s_lo: cython.ulonglong = rows[i, D.SRC_LO]
    s_port: cython.ulonglong = rows[i, D.SPORT]
    d_hi: cython.ulonglong = rows[i, D.DST_HI]
    d_lo: cython.ulonglong = rows[i, D.DST_LO]
    d_port: cython.ulonglong = rows[i, D.DPORT]
    side: cython.int = 0
    if s_hi > d_hi or (s_hi == d_hi and (s_lo > d_lo or (s_lo == d_lo and s_port > d_port))):
        side = 1
        s_hi, s_lo, s_port, d_hi, d_lo, d_port = d_hi, d_lo, d_port, s_hi, s_lo, s_port
    key[0], key[1], key[2], key[3] = s_hi, s_lo, d_hi, d_lo
    key[4] = (s_port << 48) | (d_port << 32) | (rows[i, D.PROTO] << 16)
    key[4] |= (rows[i, D.DEPTH] << 8) | rows[i, D.VERSION]
    return side


@cython.cfunc
@cython.exceptval(check=False)
@cython.inline
@cython.nogil
def _frag_key(rows: Cols, i: Pos, key: Key) -> cython.int:
    """Fragments of one datagram share addresses, protocol, tunnel depth and identification."""
    key[0], key[1] = rows[i, D.SRC_HI], rows[i, D.SRC_LO]
    key[2], key[3] = rows[i, D.DST_HI], rows[i, D.DST_LO]
    key[4] = (rows[i, D.PROTO] << 40) | (rows[i, D.DEPTH] << 32) | rows[i, D.FRAG_ID]
    return 0


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def _end(F: Cols, fid: Pos, why: cython.int, out: Cols, state: Col) -> cython.int:
    F[fid, C.END] = why
    out[state[C.ENDED], :] = F[fid, :]
    state[C.ENDED] += 1
    return 0


@cython.cfunc
@cython.exceptval(check=False)
@cython.inline
@cython.nogil
def _port_rank(port: cython.longlong) -> cython.int:
    """0: well-known (< 1024), 1: registered, 2: ephemeral. A server listens on the lower rank."""
    if port < 1024:
        return 0
    return 1 if port < C.EPHEMERAL else 2


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def _server_side(port_a: cython.longlong, port_b: cython.longlong) -> cython.int:
    """Which side (0: A, 1: B) is the server when no SYN says so, by its port's rank, as Zeek
    and tshark guess for connections seen mid-way; -1 when the ports do not tell."""
    ra: cython.int = _port_rank(port_a)
    rb: cython.int = _port_rank(port_b)
    if ra == rb:
        return -1
    return 0 if ra < rb else 1


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def _start(
    F: Cols, fid: Pos, key: Key, side: cython.int, flags: cython.longlong, ts: cython.longlong,
    state: Col,
) -> cython.int:  # fmt: skip
    c: cython.int
    for c in range(C.N_COLUMNS):
        F[fid, c] = 0
    F[fid, C.SERIAL] = state[C.NEXT_SERIAL]
    state[C.NEXT_SERIAL] += 1
    for c in range(5):
        F[fid, C.K0 + c] = key[c]
    starter: cython.int = side
    how: cython.int = C.BY_FIRST_PACKET
    server: cython.int
    ports: cython.ulonglong
    if flags & N.TH_SYN:
        how = C.BY_SYN
        if flags & N.TH_ACK:
            starter = 1 - side  # a SYN/ACK answers: its receiver started the connection
    elif has_ports((key[4] >> 16) & 0xFF):
        ports = key[4] >> 32
        server = _server_side(ports >> 16, ports & 0xFFFF)
        if server >= 0:
            how = C.BY_PORTS
            starter = 1 - server
    F[fid, C.A_STARTED] = (C.A_FIRST if starter == 0 else 0) | (how << C.HOW_SHIFT)
    F[fid, C.FIRST] = ts
    return 0


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def _ends_before(
    F: Cols, fid: Pos, tcp: cython.bint, flags: cython.longlong, ts: cython.longlong,
    idle: cython.longlong, active: cython.longlong,
) -> cython.int:  # fmt: skip
    """Does this packet belong to a new flow on the same key? -> END_* reason, or -1."""
    st: cython.ulonglong
    if idle and ts - cython.cast(cython.longlong, F[fid, C.LAST]) > idle:
        return C.END_IDLE
    if active and ts - cython.cast(cython.longlong, F[fid, C.FIRST]) > active:
        return C.END_ACTIVE
    if tcp and flags & (N.TH_SYN | N.TH_ACK) == N.TH_SYN:
        st = F[fid, C.STATE]
        if st & C.RESET or st & (C.FIN_A | C.FIN_B) == C.FIN_A | C.FIN_B:
            return C.END_REUSED
    return -1


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def _remember_fragment(
    rows: Cols, i: Pos, key: Key, side: cython.int, ts: cython.longlong, fslots: Col, FR: Cols,
    ffree: Col, state: Col,
) -> cython.int:  # fmt: skip
    """Note which flow a first fragment went to, for the fragments that follow it."""
    fkey = cython.declare(cython.ulonglong[5])
    _frag_key(rows, i, fkey)
    slot: Pos
    fr: Pos
    c: cython.int
    slot, fr = _find(fslots, FR, fkey)
    if fr == C.EMPTY:
        if state[C.FREE_FRAGS] == 0:
            return 0  # table full: the rest of this datagram will count as orphans
        state[C.FREE_FRAGS] -= 1
        fr = ffree[state[C.FREE_FRAGS]]
        fslots[slot] = fr
    for c in range(5):
        FR[fr, c] = fkey[c]
        FR[fr, C.FLOW_KEY + c] = key[c]
    FR[fr, C.FRAG_SIDE], FR[fr, C.FRAG_TS] = side, ts
    return 0


def _check(F: Cols, FR: Cols, out: Cols, state: Col) -> None:
    if F.shape[1] != C.N_COLUMNS or out.shape[1] != C.N_COLUMNS:
        raise ValueError(f"flow rows have {C.N_COLUMNS} columns")
    if FR.shape[1] != C.N_FRAG_COLUMNS or state.shape[0] < 4:
        raise ValueError(f"fragment rows have {C.N_FRAG_COLUMNS} columns; state has 4 cells")


@cython.ccall
def account(
    rows: Cols, start: Pos, ts: ICol, frame_len: ICol, slots: Col, F: Cols, free: Col,
    fslots: Col, FR: Cols, ffree: Col, out: Cols, state: Col, idle: cython.longlong,
    active: cython.longlong, status: Col,
) -> Pos:  # fmt: skip
    """Account rows from `start`; -> the next row.

    Stops early with `status[0]` = NEED_ROWS (grow `F`) or OUT_FULL (drain `out`). Rows that
    cannot be accounted get their reason written in place (fragments whose first part was not seen).
    """
    _check(F, FR, out, state)
    if rows.shape[1] != D.N_COLUMNS:
        raise ValueError(f"decoder rows have {D.N_COLUMNS} columns")
    key = cython.declare(cython.ulonglong[5])
    fkey = cython.declare(cython.ulonglong[5])
    i: Pos
    c: cython.int
    slot: Pos
    fid: Pos
    fslot: Pos
    fr: Pos
    side: cython.int
    why: cython.int
    t: cython.longlong
    frag: cython.ulonglong
    flags: cython.longlong
    tcp: cython.bint
    rec: Pos
    status[0] = C.OK
    with cython.nogil:
        for i in range(start, rows.shape[0]):
            if state[C.FREE_FLOWS] == 0:
                status[0] = C.NEED_ROWS
                return i
            if state[C.ENDED] + 2 > out.shape[0]:
                status[0] = C.OUT_FULL
                return i
            if rows[i, D.REASON] != R.OK:
                continue
            rec = rows[i, D.REC]
            t = ts[rec]
            frag = rows[i, D.FRAG]
            if frag == N.FRAG_MIDDLE or frag == N.FRAG_LAST:
                _frag_key(rows, i, fkey)
                fslot, fr = _find(fslots, FR, fkey)
                if fr == C.EMPTY:
                    rows[i, D.REASON] = R.FRAGMENT_WITHOUT_FIRST
                    continue
                for c in range(5):
                    key[c] = FR[fr, C.FLOW_KEY + c]
                side = FR[fr, C.FRAG_SIDE]
                if frag == N.FRAG_LAST:
                    _remove(fslots, FR, fslot)
                    ffree[state[C.FREE_FRAGS]] = fr
                    state[C.FREE_FRAGS] += 1
            else:
                side = _key(rows, i, key)
                if frag == N.FRAG_FIRST:
                    _remember_fragment(rows, i, key, side, t, fslots, FR, ffree, state)
            flags = rows[i, D.TCP_FLAGS]
            tcp = rows[i, D.PROTO] == N.IP_TCP
            slot, fid = _find(slots, F, key)
            if fid == C.EMPTY:
                state[C.FREE_FLOWS] -= 1
                fid = free[state[C.FREE_FLOWS]]
                slots[slot] = fid
                _start(F, fid, key, side, flags, t, state)
            else:
                why = _ends_before(F, fid, tcp, flags, t, idle, active)
                if why >= 0:
                    _end(F, fid, why, out, state)
                    _start(F, fid, key, side, flags, t, state)
            rows[i, D.SERIAL] = F[fid, C.SERIAL]
            a_first: cython.bint = F[fid, C.A_STARTED] & C.A_FIRST == C.A_FIRST
            rows[i, D.FORWARD] = 1 if (side == 0) == a_first else 0
            F[fid, C.PKT_A + side] += 1
            F[fid, C.IP_A + side] += rows[i, D.IP_LEN]
            F[fid, C.FRAME_A + side] += frame_len[rec]
            F[fid, C.FLAGS_A + side] |= flags
            if t > cython.cast(cython.longlong, F[fid, C.LAST]):
                F[fid, C.LAST] = t
            if tcp:
                if flags & N.TH_RST:
                    F[fid, C.STATE] |= C.RESET
                if flags & N.TH_FIN:
                    F[fid, C.STATE] |= C.FIN_A if side == 0 else C.FIN_B
    return rows.shape[0]


@cython.ccall
def expire(
    slots: Col, F: Cols, free: Col, fslots: Col, FR: Cols, ffree: Col, out: Cols, state: Col,
    now: cython.longlong, idle: cython.longlong, active: cython.longlong, flush: cython.bint,
) -> cython.bint:  # fmt: skip
    """End flows idle or active too long at capture time `now` (all of them when `flush`).

    Returns False when `out` filled up first: drain it and call again.
    """
    _check(F, FR, out, state)
    room: Pos = out.shape[0] - state[C.ENDED]
    done_ids = np.empty(max(room, 0), np.int64)
    done_why = np.empty(max(room, 0), np.int64)
    ids: Col = done_ids
    whys: Col = done_why
    stale_frs = np.empty(fslots.shape[0], np.int64)
    frs: Col = stale_frs
    n: Pos = 0
    j: Pos
    fid: Pos
    fr: Pos
    why: cython.int
    with cython.nogil:
        for j in range(slots.shape[0]):  # collect first: removal moves entries around
            fid = slots[j]
            if fid == C.EMPTY:
                continue
            if n == room:
                break
            why = -1
            if flush:
                why = C.END_EOF
            elif idle and now - cython.cast(cython.longlong, F[fid, C.LAST]) > idle:
                why = C.END_IDLE
            elif active and now - cython.cast(cython.longlong, F[fid, C.FIRST]) > active:
                why = C.END_ACTIVE
            if why >= 0:
                ids[n], whys[n] = fid, why
                n += 1
                if flush:  # every entry goes, and nothing is looked up until all have gone:
                    slots[j] = C.EMPTY  # no entry needs moving back
        for j in range(n):
            fid = ids[j]
            if not flush:
                _remove(slots, F, _find(slots, F, cython.address(F[fid, 0]))[0])
            _end(F, fid, whys[j], out, state)
            free[state[C.FREE_FLOWS]] = fid
            state[C.FREE_FLOWS] += 1
        stale: Pos = 0
        for j in range(fslots.shape[0]):  # collect first here too
            fr = fslots[j]
            if fr != C.EMPTY and (
                flush or now - cython.cast(cython.longlong, FR[fr, C.FRAG_TS]) > FRAGMENT_TTL_NS
            ):
                frs[stale] = fr
                stale += 1
        for j in range(stale):
            fr = frs[j]
            _remove(fslots, FR, _find(fslots, FR, cython.address(FR[fr, 0]))[0])
            ffree[state[C.FREE_FRAGS]] = fr
            state[C.FREE_FRAGS] += 1
    return n < room
