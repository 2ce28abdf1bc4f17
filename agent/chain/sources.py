"""Where the chain's flows come from, each as batches of `Flows`: captures read as one
recording, a daemon's journal, flow record files (the fleet's lake units are in
`agent.fleet.partial`). What a source contributed is counted by a sink of its own
(`CaptureShares`; `RecordFiles` is both), handed to `Chain.run` beside the chain's sinks so it
is told the verdicts of that source's flows alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

from agent.chain.judging import Flows
from agent.chain.recording import Progress, Recording
from agent.findings.analysis import Window
from agent.model import COLUMN, CaptureStats, Flow, Process
from agent.policy.batch import Verdicts
from agent.records.evidence import CAPTURE, RecordEvidence, SourceShare, sizes
from agent.records.model import Counts
from agent.records.source import read_records

if TYPE_CHECKING:  # analysing captures opens no journal
    from agent.journal import Journal

JOURNAL_BATCH = 10_000
"""Journaled flows judged at a time: a journal is read in batches, never whole."""


def captures(
    recording: Recording, window: Window, progress: Progress | None = None
) -> Iterator[Flows]:
    """The recording's flows that overlap `window`, each under the capture where it began."""
    since, until = window
    for batch, began_in in recording.flows(progress):
        yield Flows(batch.overlapping(since, until), began_in)


class CaptureShares(dict[str, SourceShare]):
    """A sink: what each capture's own flows contributed (packets counted at one vantage)."""

    def add_batch(self, verdicts: Verdicts, where: str) -> None:
        self.setdefault(where, SourceShare(CAPTURE, where, Counts.EXACT)).add_batch(verdicts)


def journaled(
    journal: Journal, where: str, window: Window, last_seq: int | None = None
) -> Iterator[Flows]:
    """A journal's flows in [since, until) up to row `last_seq` (None: all), with their
    processes, in batches (memory stays bounded); a flow's serial is its journal row, its
    evidence pointer."""
    since, until = window
    flows: list[Flow] = []
    owners: list[Process | None] = []
    for row in journal.flows(since, until):
        if last_seq is not None and row.seq > last_seq:
            continue
        flows.append(row.flow._replace(serial=row.seq))
        owners.append(row.process)
        if len(flows) >= JOURNAL_BATCH:
            yield Flows(flows, where, owners)
            flows, owners = [], []
    if flows:
        yield Flows(flows, where, owners)


class RecordFiles:
    """Flow record files read and joined together (`agent.records.source`), as a source of
    each file's flows that overlap `window`, and as the sink that sums each verdict into its
    source's share (format and vantage point). `evidence` is complete once iterated."""

    def __init__(self, paths: Sequence[str], window: Window,
                 fields: Sequence[str] | None = None) -> None:  # fmt: skip
        self.read, self.window = read_records(paths, fields), window
        j = self.read.joined
        self.evidence = RecordEvidence(merged_directions=j.merged_directions,
                                       merged_duplicates=j.merged_duplicates,
                                       rejected=j.rejected, gaps=j.gaps)  # fmt: skip
        self._shares = {(s.source, s.vantage): SourceShare(s.source, s.vantage, s.counts,
                                                           s.records)
                        for s in j.shares}  # fmt: skip
        self._judged = np.zeros(0, np.int64)
        """The joined flows of the file being judged, in order."""

    def __iter__(self) -> Iterator[Flows]:
        j, out = self.read.joined, self.evidence
        since, until = self.window
        for n, f in enumerate(self.read.files):
            mine = np.flatnonzero(j.tags == n)
            batch = j.batch.take(mine)
            inside = batch.overlapping(since, until)
            serial = COLUMN["serial"]
            if len(inside) < len(batch):
                mine = mine[np.isin(batch.columns[serial], inside.columns[serial])]
            self._judged = mine
            yield Flows(inside, f.path)
            stats = CaptureStats(records=f.records + len(f.gaps),
                                 decoded=f.records + len(f.gaps), read_to=f.size)  # fmt: skip
            out.files.append((f.path, f.sha256, f.size, f.kind, stats, str(f.error or "")))
            out.damaged = out.damaged or f.error
        out.sources = list(self._shares.values())

    def add_batch(self, verdicts: Verdicts, where: str) -> None:
        j, mine = self.read.joined, self._judged
        size, inside = sizes(verdicts)
        rows = zip(j.source[mine].tolist(), j.vantage[mine].tolist(), size.tolist(),
                   inside.tolist(), strict=True)  # fmt: skip
        for source, vantage, n, scoped in rows:
            s = self._shares[(source, vantage)]
            s.flows, s.bytes = s.flows + 1, s.bytes + n
            if scoped:
                s.in_scope_flows, s.in_scope_bytes = s.in_scope_flows + 1, s.in_scope_bytes + n
        self.evidence.estimated |= bool(j.estimated[mine].any())
