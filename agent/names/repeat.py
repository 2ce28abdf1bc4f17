"""Repeated DNS answers, recognised by compiled code so Python reads each answer once.

Why: resolvers repeat the same few answers all day, and a repeat that binds nothing new is most
of the DNS a capture holds. `AnswerIndex` keeps the bytes of the answers read so far (after the
query id) in one arena with a hash table over it, so compiled code finds the answer of every
row (equal hashes are checked byte by byte). `next_unsettled` then skips the rows whose answer
is known to change nothing, and Python sees only the rows that can.

An answer is settled at (addresses bound again, answers evicted from the cache): it was in the
answer cache and each of its addresses was last bound to its names when both counters had those
values. While neither counter moves, a repeat of it is a cache hit that appends nothing. (A
first binding of a new address cannot unsettle an answer: all of its addresses are bound.)
"""

from __future__ import annotations

from dataclasses import dataclass

import cython
import numpy as np
from cython.cimports.agent.cdefs import Bytes, Col, ICol, ICols, Pos, U64Col, U64s

from agent.wire.batch import I64
from agent.wire.batch import U8 as Buf

FNV_OFFSET = cython.declare(cython.ulonglong, 0xCBF29CE484222325)
FNV_PRIME = cython.declare(cython.ulonglong, 0x100000001B3)
UNSETTLED = -1
MAX_KEY = 512
"""Longer answers are not indexed: Python reads each of their rows."""
GONE = -1
"""The size of an entry whose answer left the cache: it matches nothing."""

Found = list[tuple[str, tuple[str, ...]]]
"""(address, the names that lead to it) for each trusted A/AAAA answer of a response."""


@dataclass(slots=True)
class CachedResponse:
    """A DNS response read once, as the answer cache keeps it."""

    found: Found
    entry: int = -1
    """Its entry in the `AnswerIndex`, if `generation` is the index's."""
    generation: int = -1


class AnswerIndex:
    """The cached answers compiled code can find, and when each was settled. Bounded: when
    `capacity` entries are used it starts over (a new generation), and answers are added again
    as they are next settled."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.generation = -1
        self.clear()

    def clear(self) -> None:
        n = self.capacity
        self.generation += 1
        self.count = self.used = 0
        self.arena = np.empty(64 * n, np.uint8)
        self.start, self.size = np.empty(n, np.int64), np.empty(n, np.int64)
        self.hash = np.empty(n, np.uint64)
        self.settled = np.full((n, 2), UNSETTLED, np.int64)
        self.table = np.full(1 << int(2 * n - 1).bit_length(), -1, np.int64)

    def find(self, data: Buf, at: I64, size: I64) -> I64:
        """The entry of each span `data[at:at+size]`; -1 where it has none."""
        found: I64 = _find(data, at, size, self.table, self.hash, self.arena, self.start, self.size)
        return found

    def settle(self, answer: CachedResponse, key: bytes, settled: tuple[int, int]) -> None:
        """Note when `answer` (with bytes `key`) was settled, adding it if it has no entry."""
        if answer.generation != self.generation:
            if self.count == self.capacity:
                self.clear()
            answer.entry = self._add(key)
            answer.generation = self.generation
        if answer.entry >= 0:
            self.settled[answer.entry] = settled

    def drop(self, answer: CachedResponse) -> None:
        """`answer` left the cache: its entry matches nothing from now on."""
        if answer.generation == self.generation and answer.entry >= 0:
            self.size[answer.entry] = GONE

    def _add(self, key: bytes) -> int:
        if len(key) > MAX_KEY:
            return -1
        if self.used + len(key) > len(self.arena):
            self.arena = np.concatenate([self.arena, np.empty(len(self.arena), np.uint8)])
        entry, start = self.count, self.used
        self.arena[start : start + len(key)] = np.frombuffer(key, np.uint8)
        self.start[entry], self.size[entry] = start, len(key)
        _insert(self.table, self.hash, self.arena, start, len(key), entry)
        self.count, self.used = entry + 1, start + len(key)
        return entry


@cython.ccall
def next_unsettled(
    entries: ICol, settled: ICols, rebound: cython.longlong,
    evicted: cython.longlong, start: Pos,
) -> Pos:  # fmt: skip
    """The first row from `start` without an entry or settled at other (rebound, evicted)."""
    i: Pos
    e: Pos
    for i in range(start, entries.shape[0]):
        e = entries[i]
        if e < 0 or settled[e, 0] != rebound or settled[e, 1] != evicted:
            return i
    return entries.shape[0]


@cython.ccall
def _find(
    data: Bytes, at: ICol, size: ICol, table: ICol, hashes: U64s,
    arena: Bytes, starts: ICol, sizes: ICol,
) -> I64:  # fmt: skip
    mask: cython.ulonglong = table.shape[0] - 1
    result = np.full(at.shape[0], -1, np.int64)
    found: Col = result
    i: Pos
    e: Pos
    h: cython.ulonglong
    slot: cython.ulonglong
    with cython.nogil:
        for i in range(at.shape[0]):
            h = _hash(data, at[i], size[i])
            slot = h & mask
            while table[slot] >= 0:
                e = table[slot]
                if hashes[e] == h and sizes[e] == size[i]:
                    if _equal(arena, starts[e], data, at[i], size[i]):
                        found[i] = e
                        break
                slot = (slot + 1) & mask
    return result


@cython.ccall
def _insert(
    table: Col, hashes: U64Col, arena: Bytes, start: Pos, size: Pos,
    entry: Pos,
) -> None:  # fmt: skip
    h: cython.ulonglong = _hash(arena, start, size)
    hashes[entry] = h
    mask: cython.ulonglong = table.shape[0] - 1
    slot: cython.ulonglong = h & mask
    while table[slot] >= 0:
        slot = (slot + 1) & mask
    table[slot] = entry


@cython.cfunc
@cython.exceptval(check=False)
@cython.inline
@cython.nogil
def _hash(data: Bytes, at: Pos, size: Pos) -> cython.ulonglong:
    """FNV-1a, 64 bits (unsigned arithmetic wraps modulo 2**64, as FNV means it to)."""
    h: cython.ulonglong = FNV_OFFSET
    k: Pos
    for k in range(at, at + size):
        h = (h ^ data[k]) * FNV_PRIME
    return h


@cython.cfunc
@cython.exceptval(check=False)
@cython.inline
@cython.nogil
def _equal(a: Bytes, at_a: Pos, b: Bytes, at_b: Pos, size: Pos) -> cython.bint:
    k: Pos
    for k in range(size):
        if a[at_a + k] != b[at_b + k]:
            return False
    return True
