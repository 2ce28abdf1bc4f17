"""Rows grouped by key columns with numpy: one stable sort, then per group its size, sums,
minima and maxima, and its rows in order, for the tally to count a batch of verdicts at once."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agent.intel.records import I64
from agent.policy.keys import combine


class Groups:
    """The rows of a batch grouped by equal key columns (non-negative integer codes), the
    groups in order of their first row."""

    def __init__(self, columns: Sequence[I64]) -> None:
        group, firsts = combine(columns)
        rank = np.empty(len(firsts), np.int64)
        rank[np.argsort(firsts, kind="stable")] = np.arange(len(firsts))
        codes = rank[group]
        self.codes = codes
        """Each row's group."""
        self.order = np.argsort(codes, kind="stable")
        """Row numbers, group by group, each group's rows in batch order."""
        ordered = codes[self.order]
        edge = np.ones(len(ordered), bool)
        edge[1:] = ordered[1:] != ordered[:-1]
        self.starts = np.flatnonzero(edge)
        self.ends = np.append(self.starts[1:], len(ordered)).astype(np.int64)
        self.rows = self.order[self.starts]
        """Each group's first row: where to read its key."""

    def __len__(self) -> int:
        return len(self.starts)

    def sizes(self) -> list[int]:
        return (self.ends - self.starts).tolist()  # type: ignore[no-any-return]

    def sum(self, values: I64) -> list[int]:
        if not len(self):
            return []
        return np.add.reduceat(values[self.order], self.starts).tolist()  # type: ignore[no-any-return]

    def min(self, values: I64) -> list[int]:
        if not len(self):
            return []
        return np.minimum.reduceat(values[self.order], self.starts).tolist()  # type: ignore[no-any-return]

    def max(self, values: I64) -> list[int]:
        if not len(self):
            return []
        return np.maximum.reduceat(values[self.order], self.starts).tolist()  # type: ignore[no-any-return]


def distinct(group: I64, codes: I64) -> list[tuple[int, int]]:
    """The distinct (group, code) pairs among rows."""
    if not len(group):
        return []
    width = int(codes.max()) + 1
    pairs = np.unique(group * width + codes)
    return list(zip((pairs // width).tolist(), (pairs % width).tolist(), strict=True))
