"""The record of one analysis: the tally of its verdicts and what it read (captures, journals,
flow record files, range versions). Made by the chain's offline runs (`agent.chain.offline`),
written by `document` and the report; it holds no IO."""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.errors import CorruptCapture
from agent.findings.document import CaptureInput, JournalInput, RangeInput
from agent.findings.tally import Tally
from agent.records.evidence import RecordEvidence

Window = tuple[int | None, int | None]
"""[since, until) in ns, either end open (None): the flows whose capture times overlap it."""


@dataclass(frozen=True, slots=True)
class Analysis:
    tally: Tally
    captures: list[CaptureInput]
    ranges: list[RangeInput]
    damaged: CorruptCapture | None
    """The first capture that turned out damaged part-way (its flows before the damage count)."""
    journals: list[JournalInput] = field(default_factory=list)
    window: Window | None = None
    """`--since`/`--until` as given (None: the whole of the inputs)."""
    records: RecordEvidence | None = None
    """Flow record files among the inputs (flow logs, conn.log), judged beside the captures."""
    capture_filter: str | None = None
    """`--filter` as given: only the capture records it selected were decoded and judged."""
