"""Flow record files as evidence beside captures: each flow is judged by the same chain as
packets (`agent.chain.sources.RecordFiles`), counted under the file it came from, and summed
here per source (format and vantage point) so the analysis can say what rests on which source,
and whether any of it on sampled counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agent.errors import CorruptRecords
from agent.model import COLUMN, CaptureStats
from agent.policy.batch import Verdicts
from agent.policy.judge import IN, Verdict
from agent.records.model import Counts

CAPTURE = "capture"
"""The `source` of a capture's own flows in the shares: packets counted at one vantage point."""


@dataclass(slots=True)
class SourceShare:
    """What one source (format and vantage point) contributed to the flows judged."""

    source: str
    vantage: str
    counts: Counts
    records: int = 0
    flows: int = 0
    bytes: int = 0
    in_scope_flows: int = 0
    in_scope_bytes: int = 0

    def add_batch(self, verdicts: Verdicts) -> None:
        """`add`, for verdicts as columns."""
        size, inside = sizes(verdicts)
        self.flows, self.bytes = self.flows + len(size), self.bytes + int(size.sum())
        self.in_scope_flows += int(inside.sum())
        self.in_scope_bytes += int(size[inside].sum())

    def add(self, verdicts: Sequence[Verdict]) -> None:
        for v in verdicts:
            size = v.flow.bytes_fwd + v.flow.bytes_rev
            self.flows, self.bytes = self.flows + 1, self.bytes + size
            if v.scope == IN:
                self.in_scope_flows, self.in_scope_bytes = self.in_scope_flows + 1, (
                    self.in_scope_bytes + size)  # fmt: skip


def sizes(verdicts: Verdicts) -> tuple[Any, Any]:
    """Each flow's bytes (both ways), and whether it is in scope."""
    c = verdicts.flows.columns
    inside = np.array([d.scope == IN for d in verdicts.decisions], bool)[verdicts.decision]
    return c[COLUMN["bytes_fwd"]] + c[COLUMN["bytes_rev"]], inside


@dataclass(slots=True)
class RecordEvidence:
    files: list[tuple[str, str, int, str, CaptureStats, str]] = field(default_factory=list)
    """Per file: path, sha256, size, kind, what was read, the damage that stopped it ('')."""
    sources: list[SourceShare] = field(default_factory=list)
    merged_directions: int = 0
    merged_duplicates: int = 0
    rejected: int = 0
    gaps: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    estimated: bool = False
    """Some judged flow rests on sampled (estimated) counts."""
    damaged: CorruptRecords | None = None
