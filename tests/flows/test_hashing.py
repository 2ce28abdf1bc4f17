"""The flow table's hash spreads keys that differ anywhere, ports included (they sit in the top
bits of the last key word; an early hash left them out of the low bits and 40,000 flows took
seconds instead of milliseconds)."""

from __future__ import annotations

import numpy as np
import pytest

from agent.flows.hashing import EMPTY, find, hash_key, rehash, remove

MAPPED = np.uint64(0xFFFF_0A00_0001)


@pytest.mark.parametrize("word, shift", [(4, 48), (4, 32), (1, 0), (3, 8)])
def test_low_bits_depend_on_every_field(word: int, shift: int) -> None:
    seen = set()
    for i in range(4096):
        key = [np.uint64(0), MAPPED, np.uint64(0), MAPPED, np.uint64(17 << 16)]
        key[word] = key[word] ^ np.uint64(i << shift)
        seen.add(int(hash_key(np.array(key, np.uint64))) & 0xFFF)
    assert len(seen) > 2400  # 4096 random draws from 4096 buckets give about 2590


def test_insert_find_remove_keep_every_other_key() -> None:
    rng = np.random.default_rng(5)
    keys = rng.integers(0, 50, size=(300, 5)).astype(np.uint64)
    keys = np.unique(keys, axis=0)
    slots = np.full(1024, EMPTY, np.int64)
    for row in range(len(keys)):
        slot, found = find(slots, keys, keys[row])
        assert found == EMPTY
        slots[slot] = row
    gone = set(rng.choice(len(keys), size=len(keys) // 2, replace=False).tolist())
    for row in gone:
        slot, found = find(slots, keys, keys[row])
        assert found == row
        remove(slots, keys, slot)
    bigger = rehash(slots, keys, 4096)
    for table in (slots, bigger):
        for row in range(len(keys)):
            assert find(table, keys, keys[row])[1] == (EMPTY if row in gone else row)
