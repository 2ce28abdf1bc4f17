"""Open addressing (linear probing) over rows of key columns, for the compiled flow table.

`slots` maps a hash position to a row id (-1: empty); the key of row `i` is `keys[i, :5]`.
Deletion shifts later entries back, so there are no tombstones and lookups stay short.
Compiled (Cython, pure-Python mode): the kernel cimports the C functions (`_find`, `_remove`,
`_hash`); `find`, `remove`, `rehash` and `hash_key` are their Python faces.
"""

from __future__ import annotations

from typing import Any

import cython
import numpy as np
from cython.cimports.agent.cdefs import Col, Cols, Key, KeyWords
from cython.cimports.agent.flows import columns as C

EMPTY = -1
SEED = cython.declare(cython.ulonglong, 0x9E3779B97F4A7C15)
FNV_PRIME = cython.declare(cython.ulonglong, 0x100000001B3)
MIX_1 = cython.declare(cython.ulonglong, 0xBF58476D1CE4E5B9)
MIX_2 = cython.declare(cython.ulonglong, 0x94D049BB133111EB)


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def _hash(k: Key) -> cython.ulonglong:
    """The five key words folded, then splitmix64's finaliser, so that every input bit reaches
    the low bits the table indexes by (ports sit in the top bits of the last word). Unsigned
    arithmetic wraps modulo 2**64, as the hash means it to."""
    h: cython.ulonglong = SEED
    i: cython.int
    for i in range(5):
        h = (h ^ k[i]) * FNV_PRIME
    h = (h ^ (h >> 30)) * MIX_1
    h = (h ^ (h >> 27)) * MIX_2
    return h ^ (h >> 31)


@cython.cfunc
@cython.exceptval(check=False)
@cython.inline
@cython.nogil
def _same(keys: Cols, row: cython.Py_ssize_t, k: Key) -> cython.bint:
    return (
        keys[row, 0] == k[0] and keys[row, 1] == k[1] and keys[row, 2] == k[2]
        and keys[row, 3] == k[3] and keys[row, 4] == k[4]
    )  # fmt: skip


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def _find(
    slots: Col, keys: Cols, k: Key
) -> tuple[cython.Py_ssize_t, cython.Py_ssize_t]:
    """-> (slot, row) for key `k`; row is EMPTY when absent, and slot is where it would go."""
    mask: cython.Py_ssize_t = slots.shape[0] - 1
    i: cython.Py_ssize_t = _hash(k) & mask
    row: cython.Py_ssize_t
    while True:
        row = slots[i]
        if row == C.EMPTY or _same(keys, row, k):
            return i, row
        i = (i + 1) & mask


@cython.cfunc
@cython.exceptval(check=False)
@cython.nogil
def _remove(slots: Col, keys: Cols, i: cython.Py_ssize_t) -> cython.int:
    """Empty slot `i`, moving back the entries that probed past it (Knuth's algorithm R)."""
    mask: cython.Py_ssize_t = slots.shape[0] - 1
    j: cython.Py_ssize_t = i
    row: cython.Py_ssize_t
    home: cython.Py_ssize_t
    while True:
        j = (j + 1) & mask
        row = slots[j]
        if row == C.EMPTY:
            break
        home = _hash(cython.address(keys[row, 0])) & mask
        if (j > i and (home <= i or home > j)) or (j < i and home <= i and home > j):
            slots[i] = row
            i = j
    slots[i] = C.EMPTY
    return 0


def _key_words(k: Any) -> Any:
    words = np.ascontiguousarray(k, np.uint64)
    if words.shape[0] < 5:
        raise ValueError("a key has five words")
    return words


@cython.ccall
def hash_key(k: KeyWords) -> cython.ulonglong:
    """The hash of a key (its first five words)."""
    if k.shape[0] < 5:
        raise ValueError("a key has five words")
    return _hash(cython.address(k[0]))


def find(slots: Any, keys: Any, k: Any) -> tuple[int, int]:
    """(slot, row) of key `k` (five words) in `slots` over `keys`; row EMPTY when absent."""
    words: KeyWords = _key_words(k)
    slot, row = _find(slots, keys, cython.address(words[0]))
    return int(slot), int(row)


def remove(slots: Any, keys: Any, i: int) -> None:
    """Empty slot `i`, moving back the entries that probed past it."""
    _remove(slots, keys, i)


@cython.ccall
def rehash(slots: Col, keys: Cols, size: cython.Py_ssize_t) -> Any:
    """The same entries in a table of `size` slots."""
    bigger = np.full(size, C.EMPTY, np.int64)
    view: Col = bigger
    j: cython.Py_ssize_t
    i: cython.Py_ssize_t
    row: cython.Py_ssize_t
    with cython.nogil:
        for j in range(slots.shape[0]):
            row = slots[j]
            if row != C.EMPTY:
                i = _find(view, keys, cython.address(keys[row, 0]))[0]
                view[i] = row
    return bigger
