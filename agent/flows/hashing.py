"""Open addressing (linear probing) over rows of key columns, for the compiled flow table.

`slots` maps a hash position to a row id (-1: empty); the key of row `i` is `keys[i, :5]`.
Deletion shifts later entries back, so there are no tombstones and lookups stay short.
Built here rather than with numba's typed dict, whose creation costs a third of a second of
start-up in every process.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from agent.wire.bytes import Int

Slots = Any
"""1-D int64 array, a power of two long, at most half full."""
Keys = Any
"""2-D uint64 array whose first five columns are a row's key."""
EMPTY = -1


@njit(cache=True, inline="always")
def hash_key(k: Any) -> np.uint64:
    """The five key words folded, then splitmix64's finaliser, so that every input bit reaches
    the low bits the table indexes by (ports sit in the top bits of the last word)."""
    h = np.uint64(0x9E3779B97F4A7C15)
    for i in range(5):
        h = (h ^ k[i]) * np.uint64(0x100000001B3)
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


@njit(cache=True, inline="always")
def _same(keys: Keys, row: Int, k: Any) -> bool:
    return (
        keys[row, 0] == k[0] and keys[row, 1] == k[1] and keys[row, 2] == k[2]
        and keys[row, 3] == k[3] and keys[row, 4] == k[4]
    )  # fmt: skip


@njit(cache=True)
def find(slots: Slots, keys: Keys, k: Any) -> tuple[Int, Int]:
    """-> (slot, row) for key `k`; row is EMPTY when absent, and slot is where it would go."""
    mask = slots.shape[0] - 1
    i = np.int64(hash_key(k) & np.uint64(mask))
    while True:
        row = slots[i]
        if row == EMPTY or _same(keys, row, k):
            return i, row
        i = (i + 1) & mask


@njit(cache=True)
def remove(slots: Slots, keys: Keys, i: Int) -> None:
    """Empty slot `i`, moving back the entries that probed past it (Knuth's algorithm R)."""
    mask = slots.shape[0] - 1
    j = i
    while True:
        j = (j + 1) & mask
        row = slots[j]
        if row == EMPTY:
            break
        home = np.int64(hash_key(keys[row]) & np.uint64(mask))
        if (j > i and (home <= i or home > j)) or (j < i and home <= i and home > j):
            slots[i] = row
            i = j
    slots[i] = EMPTY


@njit(cache=True)
def rehash(slots: Slots, keys: Keys, size: Int) -> Slots:
    """The same entries in a table of `size` slots."""
    bigger = np.full(size, EMPTY, np.int64)
    for row in slots:
        if row != EMPTY:
            i, _ = find(bigger, keys, keys[row])
            bigger[i] = row
    return bigger
