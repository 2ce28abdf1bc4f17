"""The flow table the offline analyzer and the daemon share: it owns all live flow state."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from agent.flows import columns as K
from agent.flows.columns import EMPTY
from agent.flows.hashing import rehash
from agent.flows.kernel import account, expire
from agent.flows.text import addresses
from agent.model import FlowBatch
from agent.wire.rows import Rows

SECOND = 1_000_000_000
FRAGMENTS = 4096
"""Datagrams whose later fragments can be waited for at once."""


class FlowTable:
    """Rows in (`add`), ended flows out (`pop_ended`).

    Timeouts are in capture time, in seconds; 0 turns one off.
    """

    def __init__(
        self, idle_timeout: float = 0.0, active_timeout: float = 0.0, capacity: int = 1 << 14
    ) -> None:
        self.idle = int(idle_timeout * SECOND)
        self.active = int(active_timeout * SECOND)
        self._flows = np.zeros((capacity, K.N_COLUMNS), np.uint64)
        self._slots = np.full(2 * capacity, EMPTY, np.int64)
        self._free = np.arange(capacity - 1, -1, -1, dtype=np.int64)
        self._frags = np.zeros((FRAGMENTS, K.N_FRAG_COLUMNS), np.uint64)
        self._frag_slots = np.full(2 * FRAGMENTS, EMPTY, np.int64)
        self._frag_free = np.arange(FRAGMENTS - 1, -1, -1, dtype=np.int64)
        self._out = np.zeros((1 << 14, K.N_COLUMNS), np.uint64)
        self._state = np.array([capacity, 0, FRAGMENTS, 0], np.int64)
        self._status = np.zeros(1, np.int64)
        self._ended: list[K.Cols] = []
        self.now = 0
        """The latest capture time seen, ns."""

    @property
    def next_serial(self) -> int:
        """The serial the next flow to begin will get."""
        return int(self._state[K.NEXT_SERIAL])

    def __len__(self) -> int:
        """Flows open now."""
        return len(self._flows) - int(self._state[K.FREE_FLOWS])

    def add(self, rows: Rows, ts_ns: K.I64, frame_len: K.I64) -> None:
        """Account decoder rows; unaccountable rows get their reason written into `rows`."""
        i = 0
        while i < len(rows):
            i = account(
                rows, i, ts_ns, frame_len, self._slots, self._flows, self._free,
                self._frag_slots, self._frags, self._frag_free, self._out, self._state,
                self.idle, self.active, self._status,
            )  # fmt: skip
            if self._status[0] == K.NEED_ROWS:
                self.grow()
            elif self._status[0] == K.OUT_FULL:
                self._drain()
        if len(ts_ns):
            self.now = max(self.now, int(ts_ns.max()))

    def expire(self, now_ns: int | None = None, flush: bool = False) -> None:
        """End the flows that timed out by `now_ns` (default: the latest packet), or all."""
        now = self.now if now_ns is None else now_ns
        while not expire(
            self._slots, self._flows, self._free, self._frag_slots, self._frags,
            self._frag_free, self._out, self._state, now, self.idle, self.active, flush,
        ):  # fmt: skip
            self._drain()

    def pop_ended(self) -> FlowBatch:
        """The flows that ended since the last call, oldest first."""
        self._drain()
        ended, self._ended = self._ended, []
        cols = np.concatenate(ended) if ended else np.zeros((0, K.N_COLUMNS), np.uint64)
        return to_batch(cols[np.argsort(cols[:, K.FIRST], kind="stable")])

    def _drain(self) -> None:
        n = int(self._state[K.ENDED])
        if n:
            self._ended.append(self._out[:n].copy())
            self._state[K.ENDED] = 0

    def grow(self) -> None:
        """Double the flow rows and rehash into twice as many slots: when all rows are in use,
        and once by the daemon before it captures, so the growth path is compiled in time."""
        old = len(self._flows)
        self._flows = np.concatenate([self._flows, np.zeros_like(self._flows)])
        self._free = np.arange(2 * old - 1, -1, -1, dtype=np.int64)  # ids old.. are the free ones
        self._state[K.FREE_FLOWS] = old
        self._slots = rehash(self._slots, self._flows, 4 * old)


def _addresses(hi: K.Cols, lo: K.Cols, version: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
    column = np.empty(len(hi), dtype=object)
    column[:] = addresses(hi, lo, version)
    return column


def to_batch(c: K.Cols) -> FlowBatch:
    """Flow columns (side A, side B) -> a batch oriented initiator first, saying how the
    initiator was decided; without the names column (`FlowBatch.with_names` adds it)."""
    tail = c[:, K.K4]
    a_first = c[:, K.A_STARTED] & np.uint64(K.A_FIRST) == K.A_FIRST

    def oriented(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], ...]:
        return np.where(a_first, a, b), np.where(a_first, b, a)

    version = (tail & np.uint64(0xFF)).astype(np.int64)
    port_a = (tail >> np.uint64(48)).astype(np.int64)
    port_b, proto, depth = (
        (tail >> np.uint64(s)).astype(np.int64) & m
        for s, m in ((32, 0xFFFF), (16, 0xFF), (8, 0xFF))
    )
    src, dst = oriented(
        _addresses(c[:, K.K0], c[:, K.K1], version), _addresses(c[:, K.K2], c[:, K.K3], version)
    )
    sport, dport = oriented(port_a, port_b)
    n = c.astype(np.int64)
    packets, ip, frame, flags = (
        oriented(n[:, a], n[:, a + 1]) for a in (K.PKT_A, K.IP_A, K.FRAME_A, K.FLAGS_A)
    )
    ends = np.array(K.END_NAMES, dtype=object)[n[:, K.END]]
    how = np.array(K.DIRECTION_NAMES, dtype=object)[(n[:, K.A_STARTED] >> K.HOW_SHIFT) & 3]
    return FlowBatch((
        proto, src, sport, dst, dport, depth,
        packets[0], ip[0], frame[0], packets[1], ip[1], frame[1],
        n[:, K.FIRST], n[:, K.LAST], flags[0], flags[1], ends, n[:, K.SERIAL], how,
    ))  # fmt: skip
