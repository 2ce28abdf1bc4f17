"""The flow table the offline analyzer and the daemon share: it owns all live flow state."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from ipaddress import IPv4Address, IPv6Address

import numpy as np

from agent.flows import kernel as K
from agent.flows.hashing import EMPTY, rehash
from agent.model import Flow
from agent.wire.decode import Rows

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
        self._state = np.array([capacity, 0, FRAGMENTS], np.int64)
        self._status = np.zeros(1, np.int64)
        self._ended: list[K.Cols] = []
        self.now = 0
        """The latest capture time seen, ns."""

    def __len__(self) -> int:
        """Flows open now."""
        return len(self._flows) - int(self._state[K.FREE_FLOWS])

    def add(self, rows: Rows, ts_ns: K.I64, frame_len: K.I64) -> None:
        """Account decoder rows; unaccountable rows get their reason written into `rows`."""
        i = 0
        while i < len(rows):
            i = K.account(
                rows, i, ts_ns, frame_len, self._slots, self._flows, self._free,
                self._frag_slots, self._frags, self._frag_free, self._out, self._state,
                self.idle, self.active, self._status,
            )  # fmt: skip
            if self._status[0] == K.NEED_ROWS:
                self._grow()
            elif self._status[0] == K.OUT_FULL:
                self._drain()
        if len(ts_ns):
            self.now = max(self.now, int(ts_ns.max()))

    def expire(self, now_ns: int | None = None, flush: bool = False) -> None:
        """End the flows that timed out by `now_ns` (default: the latest packet), or all."""
        now = self.now if now_ns is None else now_ns
        while not K.expire(
            self._slots, self._flows, self._free, self._frag_slots, self._frags,
            self._frag_free, self._out, self._state, now, self.idle, self.active, flush,
        ):  # fmt: skip
            self._drain()

    def pop_ended(self) -> Iterator[Flow]:
        """The flows that ended since the last call, oldest first. Taken now, made into records
        as they are consumed: a million flows ending at once cost columns, not objects."""
        self._drain()
        ended, self._ended = self._ended, []
        if not ended:
            return iter(())
        cols = np.concatenate(ended)
        return _records(cols[np.argsort(cols[:, K.FIRST], kind="stable")])

    def _drain(self) -> None:
        n = int(self._state[K.ENDED])
        if n:
            self._ended.append(self._out[:n].copy())
            self._state[K.ENDED] = 0

    def _grow(self) -> None:
        """Double the flow rows (all in use) and rehash into twice as many slots."""
        old = len(self._flows)
        self._flows = np.concatenate([self._flows, np.zeros_like(self._flows)])
        self._free = np.arange(2 * old - 1, -1, -1, dtype=np.int64)  # ids old.. are the free ones
        self._state[K.FREE_FLOWS] = old
        self._slots = rehash(self._slots, self._flows, 4 * old)


def _records(cols: K.Cols, step: int = 4096) -> Iterator[Flow]:
    for start in range(0, len(cols), step):
        yield from map(to_flow, cols[start : start + step].tolist())


@lru_cache(maxsize=1 << 16)
def address(hi: int, lo: int, version: int) -> str:
    if version == 4:
        return str(IPv4Address(lo & 0xFFFF_FFFF))
    return str(IPv6Address(hi << 64 | lo))


def to_flow(c: list[int]) -> Flow:
    """One row of flow columns -> the frozen record, oriented initiator first."""
    k0, k1, k2, k3, tail, a_started, pa, pb, ia, ib, fa, fb, ta, tb, first, last, _, end = c
    version = tail & 0xFF
    a, b = address(k0, k1, version), address(k2, k3, version)
    port_a, port_b, proto, depth = (
        tail >> 48,
        tail >> 32 & 0xFFFF,
        tail >> 16 & 0xFF,
        tail >> 8 & 0xFF,
    )
    why = K.END_NAMES[end]
    if a_started:
        return Flow(
            proto, a, port_a, b, port_b, depth, pa, ia, fa, pb, ib, fb, first, last, ta, tb, why
        )
    return Flow(
        proto, b, port_b, a, port_a, depth, pb, ib, fb, pa, ia, fa, first, last, tb, ta, why
    )
