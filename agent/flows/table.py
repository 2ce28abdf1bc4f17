"""The flow table the offline analyzer and the daemon share: it owns all live flow state."""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Address, IPv6Address

import numpy as np
from numba import types
from numba.typed import Dict

from agent.flows import kernel as K
from agent.model import Flow
from agent.wire.decode import Rows

SECOND = 1_000_000_000


class FlowTable:
    """Rows in (`add`), ended flows out (`pop_ended`).

    Timeouts are in capture time, in seconds; 0 turns one off.
    """

    def __init__(
        self, idle_timeout: float = 0.0, active_timeout: float = 0.0, capacity: int = 1 << 14
    ) -> None:
        self.idle = int(idle_timeout * SECOND)
        self.active = int(active_timeout * SECOND)
        self._index = Dict.empty(K.KEY, types.int64)
        self._frags = Dict.empty(K.KEY, K.FRAG_VALUE)
        self._flows = np.zeros((capacity, K.N_COLUMNS), np.uint64)
        self._free = np.arange(capacity - 1, -1, -1, dtype=np.int64)
        self._out = np.zeros((1 << 14, K.N_COLUMNS), np.uint64)
        self._state = np.array([capacity, 0], np.int64)
        self._status = np.zeros(1, np.int64)
        self._ended: list[K.Cols] = []
        self.now = 0
        """The latest capture time seen, ns."""

    def __len__(self) -> int:
        return len(self._index)

    def add(self, rows: Rows, ts_ns: K.I64, frame_len: K.I64) -> None:
        """Account decoder rows; unaccountable rows get their reason written into `rows`."""
        i = 0
        while i < len(rows):
            i = K.account(
                rows, i, ts_ns, frame_len, self._index, self._frags, self._flows, self._free,
                self._out, self._state, self.idle, self.active, self._status,
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
            self._index, self._frags, self._flows, self._free, self._out, self._state,
            now, self.idle, self.active, flush,
        ):  # fmt: skip
            self._drain()

    def pop_ended(self) -> list[Flow]:
        """The flows that ended since the last call, oldest first."""
        self._drain()
        ended, self._ended = self._ended, []
        if not ended:
            return []
        cols = np.concatenate(ended)
        cols = cols[np.argsort(cols[:, K.FIRST], kind="stable")]
        return [to_flow(row) for row in cols.tolist()]

    def _drain(self) -> None:
        n = int(self._state[1])
        if n:
            self._ended.append(self._out[:n].copy())
            self._state[1] = 0

    def _grow(self) -> None:
        old = len(self._flows)
        self._flows = np.concatenate([self._flows, np.zeros_like(self._flows)])
        free = np.empty(2 * old, np.int64)
        top = int(self._state[0])
        free[:top] = self._free[:top]
        free[top : top + old] = np.arange(2 * old - 1, old - 1, -1)
        self._free = free
        self._state[0] = top + old


@lru_cache(maxsize=1 << 16)
def address(hi: int, lo: int, version: int) -> str:
    if version == 4:
        return str(IPv4Address(lo & 0xFFFF_FFFF))
    return str(IPv6Address(hi << 64 | lo))


def to_flow(c: list[int]) -> Flow:
    """One row of flow columns -> the frozen record, oriented initiator first."""
    tail = c[K.K4]
    ports, proto, depth, version = (
        (tail >> 48, tail >> 32 & 0xFFFF),
        tail >> 16 & 0xFF,
        tail >> 8 & 0xFF,
        tail & 0xFF,
    )
    a, b = address(c[K.K0], c[K.K1], version), address(c[K.K2], c[K.K3], version)
    fwd, rev = (0, 1) if c[K.A_STARTED] else (1, 0)
    ends = (a, b)
    return Flow(
        proto=proto, src=ends[fwd], sport=ports[fwd], dst=ends[rev], dport=ports[rev], depth=depth,
        packets_fwd=c[K.PKT_A + fwd], bytes_fwd=c[K.IP_A + fwd], frame_bytes_fwd=c[K.FRAME_A + fwd],
        packets_rev=c[K.PKT_A + rev], bytes_rev=c[K.IP_A + rev], frame_bytes_rev=c[K.FRAME_A + rev],
        first_ns=c[K.FIRST], last_ns=c[K.LAST],
        tcp_flags_fwd=c[K.FLAGS_A + fwd], tcp_flags_rev=c[K.FLAGS_A + rev],
        end=K.END_NAMES[c[K.END]],
    )  # fmt: skip
