"""Repeated DNS answers, found by compiled code so Python reads each answer once.

Why: resolvers repeat the same few answers all day, and a repeat that binds nothing new is most
of the DNS a capture holds. `same_answers` numbers the rows of a block by their answer bytes
(exactly: equal hashes are checked byte by byte), and `next_unsettled` skips every row whose
answer is known to change nothing, so Python sees only the rows that can.

An answer is settled at (addresses bound again, answers evicted from the cache): it was in the
answer cache and each of its addresses was last bound to its names when both counters had those
values. While neither counter moves, a repeat of it is a cache hit that appends nothing. (A
first binding of a new address cannot unsettle an answer: all of its addresses are bound.)
"""

from __future__ import annotations

import numpy as np
from numba import njit

from agent.names_pick import I64
from agent.wire.bytes import Buf, Int

UNSETTLED = -1


@njit(cache=True)
def same_answers(data: Buf, at: I64, size: I64) -> tuple[I64, I64]:
    """-> (group of each span `data[at:at+size]`, first row of each group); groups are numbered
    in order of first appearance and hold byte-equal spans only."""
    n = at.shape[0]
    slots = 1 << max(4, int(np.ceil(np.log2(2 * n + 1))))
    table = np.full(slots, -1, np.int64)  # slot -> group
    hashes = np.empty(n, np.uint64)
    groups, firsts = np.empty(n, np.int64), np.empty(n, np.int64)
    count = 0
    for i in range(n):
        h = hashes[i] = _hash(data, at[i], size[i])
        slot = h & np.uint64(slots - 1)
        while True:
            g = table[slot]
            if g < 0:
                table[slot], firsts[count], groups[i] = count, i, count
                count += 1
                break
            j = firsts[g]
            if hashes[j] == h and _equal(data, at[i], at[j], size[i], size[j]):
                groups[i] = g
                break
            slot = (slot + np.uint64(1)) & np.uint64(slots - 1)
    return groups, firsts[:count]


@njit(cache=True)
def next_unsettled(groups: I64, settled: I64, rebound: int, evicted: int, start: int) -> Int:
    """The first row from `start` whose group's `settled` (rebound, evicted) is not now."""
    for i in range(start, groups.shape[0]):
        g = groups[i]
        if settled[g, 0] != rebound or settled[g, 1] != evicted:
            return i
    return groups.shape[0]


@njit(cache=True, inline="always")
def _hash(data: Buf, at: Int, size: Int) -> np.uint64:
    """FNV-1a, 64 bits."""
    h = np.uint64(0xCBF29CE484222325)
    for k in range(at, at + size):
        h = (h ^ np.uint64(data[k])) * np.uint64(0x100000001B3)
    return h


@njit(cache=True, inline="always")
def _equal(data: Buf, a: Int, b: Int, size_a: Int, size_b: Int) -> bool:
    if size_a != size_b:
        return False
    for k in range(size_a):
        if data[a + k] != data[b + k]:
            return False
    return True
