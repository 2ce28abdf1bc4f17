"""Flow record files judged as evidence beside captures: read and joined together
(`agent.records.source`), each flow judged by the same policy and ranges as packets, counted
under the file it came from, and summed per source (format and vantage point) so the analysis
can say what rests on which source, and whether any of it on sampled counts. An edge: it opens
files through `agent.records.source`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from agent.analysis.tally import Tally
from agent.errors import CorruptRecords
from agent.model import CaptureStats, FlowBatch
from agent.policy.judge import IN, Judge, Verdict
from agent.records.model import Counts
from agent.records.source import read_records

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

    def add(self, verdicts: Sequence[Verdict]) -> None:
        for v in verdicts:
            size = v.flow.bytes_fwd + v.flow.bytes_rev
            self.flows, self.bytes = self.flows + 1, self.bytes + size
            if v.scope == IN:
                self.in_scope_flows, self.in_scope_bytes = self.in_scope_flows + 1, (
                    self.in_scope_bytes + size)  # fmt: skip


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


def judge_records(
    paths: Sequence[str], judge: Judge, tally: Tally, window: tuple[int | None, int | None],
    fields: Sequence[str] | None = None,
) -> RecordEvidence:  # fmt: skip
    read = read_records(paths, fields)
    j = read.joined
    out = RecordEvidence(merged_directions=j.merged_directions,
                         merged_duplicates=j.merged_duplicates, rejected=j.rejected,
                         gaps=j.gaps)  # fmt: skip
    shares = {(s.source, s.vantage): SourceShare(s.source, s.vantage, s.counts, s.records)
              for s in j.shares}  # fmt: skip
    since, until = window
    for n, f in enumerate(read.files):
        mine = [i for i, (tag, _) in enumerate(j.evidence) if tag == n]
        batch = FlowBatch.of([j.flows[i] for i in mine]).overlapping(since, until)
        kept = {flow.serial for flow in batch.records()}
        verdicts = judge.judge(list(batch.records()))
        tally.add(verdicts, f.path)
        for i, v in zip([i for i in mine if j.flows[i].serial in kept], verdicts, strict=True):
            shares[j.origins[i]].add([v])
            out.estimated |= j.estimated[i]
        stats = CaptureStats(records=len(f.items), decoded=len(f.items), read_to=f.size)
        out.files.append((f.path, f.sha256, f.size, f.kind, stats, str(f.error or "")))
        out.damaged = out.damaged or f.error
    out.sources = list(shares.values())
    return out
