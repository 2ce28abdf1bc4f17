"""Rows grouped by key columns with numpy: one stable sort, then per group its size, sums,
minima and maxima, and its rows in order, for the tally to count a batch of verdicts at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from agent.intel.records import I64
from agent.policy.keys import mixed


class Groups:
    """The rows of a batch grouped by equal key columns (non-negative integer codes), the
    groups in order of their first row."""

    def __init__(self, columns: Sequence[I64]) -> None:
        n = len(columns[0])
        key = mixed(columns)
        by = np.argsort(key, kind="stable")
        key = key[by]
        edge = np.ones(n, bool)
        edge[1:] = key[1:] != key[:-1]
        starts = np.flatnonzero(edge)  # the groups in key order
        sizes = np.diff(np.append(starts, n))
        firsts = by[starts]  # stable: each group's first row
        turn = np.argsort(firsts)  # the groups in order of their first row
        rank = np.empty(len(turn), np.int64)
        rank[turn] = np.arange(len(turn))
        self.codes = np.empty(n, np.int64)
        """Each row's group."""
        self.codes[by] = rank[np.cumsum(edge) - 1]
        size = sizes[turn]
        self.starts = (np.cumsum(size) - size).astype(np.int64)
        self.ends = self.starts + size
        self.order = by[np.arange(n) + np.repeat(starts[turn] - self.starts, size)]
        """Row numbers, group by group, each group's rows in batch order."""
        self.rows = firsts[turn]
        """Each group's first row: where to read its key."""

    def __len__(self) -> int:
        return len(self.starts)

    def sizes(self) -> I64:
        return self.ends - self.starts

    def sum(self, values: I64) -> I64:
        return self._reduce(np.add, values)

    def min(self, values: I64) -> I64:
        return self._reduce(np.minimum, values)

    def max(self, values: I64) -> I64:
        return self._reduce(np.maximum, values)

    def _reduce(self, ufunc: Any, values: I64) -> I64:
        if not len(self):
            return np.zeros(0, values.dtype)
        return ufunc.reduceat(values[self.order], self.starts)  # type: ignore[no-any-return]


def distinct(group: I64, codes: I64) -> list[tuple[int, int]]:
    """The distinct (group, code) pairs among rows."""
    if not len(group):
        return []
    width = int(codes.max()) + 1
    pairs = np.unique(group * width + codes)
    return list(zip((pairs // width).tolist(), (pairs % width).tolist(), strict=True))
