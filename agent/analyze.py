"""The offline driver: captures -> flows -> names -> lookups -> verdicts -> tally.

This is the edge that opens and hashes files; the chain itself is `FlowPipeline` and `Judge`,
the same two the daemon runs on live traffic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from agent.analysis.document import CaptureInput, JournalInput, RangeInput
from agent.analysis.tally import Tally
from agent.errors import CorruptCapture, JournalError
from agent.intel.store import Store, Stored
from agent.journal import Head, Journal, unwatched, verify_journal
from agent.model import Flow, Process
from agent.pipeline import FlowPipeline
from agent.policy.judge import Judge
from agent.policy.model import Policy
from agent.recording import Recording, plan
from agent.records.evidence import CAPTURE, RecordEvidence, SourceShare, judge_records
from agent.records.model import Counts
from agent.records.source import record_kind

Progress = Callable[[int], None]
"""Told how many more bytes of capture were read."""
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


def analyze(
    paths: Sequence[str], policy: Policy, store: Store, chosen: Sequence[Stored],
    progress: Progress | None = None, idle_timeout: float = 0.0, window: Window | None = None,
    fields: Sequence[str] | None = None,
) -> Analysis:  # fmt: skip
    """Judge the flows of captures read as one recording (`agent.recording`), those that
    overlap `window` [since, until) when given; a flow's evidence pointer names the capture
    where it began. Flow record files among `paths` (found by content; `fields`: a declared
    AWS format) are judged beside them (`agent.records.evidence`)."""
    judge = Judge(policy, store.table(chosen))
    tally = Tally()
    since, until = window or (None, None)
    record_files = [p for p in paths if record_kind(p)]
    recording = Recording(plan([p for p in paths if p not in record_files]),
                          FlowPipeline(idle_timeout))  # fmt: skip
    seen: dict[str, SourceShare] = {}
    for batch, began_in in recording.flows(progress):
        verdicts = judge.judge(list(batch.overlapping(since, until).records()))
        tally.add(verdicts, began_in)
        seen.setdefault(began_in, SourceShare(CAPTURE, began_in, Counts.EXACT)).add(verdicts)
    captures = [
        CaptureInput(r.part.path, r.part.sha256, r.part.size, r.stats, str(r.error or ""),
                     repeat=bool(r.part.same_as))
        for r in recording.read
    ]  # fmt: skip
    damaged = next((r.error for r in recording.read if r.error), None)
    records = None
    if record_files:
        records = judge_records(record_files, judge, tally, (since, until), fields)
        records.sources[:0] = seen.values()
        captures += [CaptureInput(p, sha, size, stats, error)
                     for p, sha, size, _, stats, error in records.files]  # fmt: skip
        damaged = damaged or records.damaged
    ranges = [RangeInput(v.slot, v.version, v.sha256, v.created, v.size) for v in chosen]
    return Analysis(tally, captures, ranges, damaged, window=window, records=records)


JOURNAL_BATCH = 10_000


def analyze_journal(
    path: str, policy: Policy, store: Store, chosen: Sequence[Stored],
    since_ns: int | None = None, until_ns: int | None = None, *, head: Head | None = None,
) -> Analysis:  # fmt: skip
    """Judge the flows a daemon journaled in [since, until) by this policy and these ranges,
    after proving the journal is intact; a flow's evidence pointer is its journal row.

    Only rows up to `head` (by default the head just verified; given, it must still be in the
    chain) are read: a live daemon keeps appending, and a report re-run later must read the
    rows it read, however the journal has grown."""
    check = verify_journal(path, [head] if head else [])
    if not check.ok:
        raise JournalError(f"{path}: refusing to analyse a journal that fails verification: "
                           f"{check}")  # fmt: skip
    head = head or Head(check.last_seq, check.head)
    last = head.seq
    judge = Judge(policy, store.table(chosen))
    tally = Tally()
    with Journal.open(path) as journal:
        flows: list[Flow] = []
        owners: list[Process | None] = []
        for row in journal.flows(since_ns, until_ns):
            if row.seq > last:
                continue
            flows.append(row.flow._replace(serial=row.seq))
            owners.append(row.process)
            if len(flows) >= JOURNAL_BATCH:
                tally.add(judge.judge(flows, None, owners), path)
                flows, owners = [], []
        tally.add(judge.judge(flows, None, owners), path)
        beats = [b for b in journal.heartbeats(since_ns, until_ns) if b.seq <= last]
    start = since_ns if since_ns is not None else (tally.first_ns or 0)
    end = until_ns if until_ns is not None else (tally.last_ns or start)
    gaps = unwatched(beats, start, end)
    entry = JournalInput(path, str(head), last - check.first_seq + 1, start, end, gaps)
    ranges = [RangeInput(v.slot, v.version, v.sha256, v.created, v.size) for v in chosen]
    return Analysis(tally, [], ranges, None, [entry], (since_ns, until_ns))
