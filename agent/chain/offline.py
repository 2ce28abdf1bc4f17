"""The offline runs of the chain, behind `analyze` and `report`: captures (read as one
recording) and flow record files, or a daemon's journal, through one `Chain` whose sink is a
`Tally`, into an `Analysis`.

This is the edge that opens, hashes and verifies files; the chain itself is `FlowPipeline`
(`agent.chain.pipeline`) and `Chain` (`agent.chain.judging`), the same two the daemon runs on
live traffic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from agent.chain.judging import Chain
from agent.chain.pipeline import FlowPipeline
from agent.chain.recording import Progress, Recording, plan
from agent.chain.sources import CaptureShares, RecordFiles, captures, journaled
from agent.errors import JournalError
from agent.findings.analysis import Analysis, Window
from agent.findings.document import CaptureInput, JournalInput, RangeInput
from agent.findings.tally import Tally
from agent.intel.store import Store, Stored
from agent.policy.judge import Judge
from agent.policy.model import Policy
from agent.records.source import record_kind

if TYPE_CHECKING:  # imported where used: analysing captures opens no journal
    from agent.capture.bpf import Selector
    from agent.journal import Head


def analyze(
    paths: Sequence[str], policy: Policy, store: Store, chosen: Sequence[Stored],
    progress: Progress | None = None, idle_timeout: float = 0.0, window: Window | None = None,
    fields: Sequence[str] | None = None, selector: Selector | None = None,
) -> Analysis:  # fmt: skip
    """Judge the flows of captures read as one recording (`agent.chain.recording`), those that
    overlap `window` [since, until) when given, of the records `selector` (a capture filter)
    selects; a flow's evidence pointer names the capture where it began. Flow record files
    among `paths` (found by content; `fields`: a declared AWS format) are judged beside them
    (`RecordFiles`)."""
    tally = Tally()
    chain = Chain(Judge(policy, store.table(chosen)), tally)
    record_files = [p for p in paths if record_kind(p)]
    recording = Recording(plan([p for p in paths if p not in record_files]),
                          FlowPipeline(idle_timeout, selector=selector))  # fmt: skip
    shares = CaptureShares()
    chain.run(captures(recording, window or (None, None), progress), shares)
    captured = [
        CaptureInput(r.part.path, r.part.sha256, r.part.size, r.stats, str(r.error or ""),
                     repeat=bool(r.part.same_as))
        for r in recording.read
    ]  # fmt: skip
    damaged = next((r.error for r in recording.read if r.error), None)
    evidence = None
    if record_files:
        records = RecordFiles(record_files, window or (None, None), fields)
        chain.run(records, records)
        evidence = records.evidence
        evidence.sources[:0] = shares.values()
        captured += [CaptureInput(p, sha, size, stats, error)
                     for p, sha, size, _, stats, error in evidence.files]  # fmt: skip
        damaged = damaged or evidence.damaged
    return Analysis(tally, captured, _ranges(chosen), damaged, window=window, records=evidence,
                    capture_filter=selector.expr if selector else None)  # fmt: skip


def analyze_journal(
    path: str, policy: Policy, store: Store, chosen: Sequence[Stored],
    since_ns: int | None = None, until_ns: int | None = None, *, head: Head | None = None,
) -> Analysis:  # fmt: skip
    """Judge the flows a daemon journaled in [since, until) by this policy and these ranges,
    after proving the journal is intact; a flow's evidence pointer is its journal row.

    Only rows up to `head` (by default the head just verified; given, it must still be in the
    chain) are read: a live daemon keeps appending, and a report re-run later must read the
    rows it read, however the journal has grown."""
    from agent.journal import Head, Journal, unwatched, verify_journal

    check = verify_journal(path, [head] if head else [])
    if not check.ok:
        raise JournalError(f"{path}: refusing to analyse a journal that fails verification: "
                           f"{check}")  # fmt: skip
    head = head or Head(check.last_seq, check.head)
    last = head.seq
    tally = Tally()
    chain = Chain(Judge(policy, store.table(chosen)), tally)
    with Journal.open(path) as journal:
        chain.run(journaled(journal, path, (since_ns, until_ns), last))
        beats = [b for b in journal.heartbeats(since_ns, until_ns) if b.seq <= last]
    start = since_ns if since_ns is not None else (tally.first_ns or 0)
    end = until_ns if until_ns is not None else (tally.last_ns or start)
    gaps = unwatched(beats, start, end)
    entry = JournalInput(path, str(head), last - check.first_seq + 1, start, end, gaps)
    return Analysis(tally, [], _ranges(chosen), None, [entry], (since_ns, until_ns))


def _ranges(chosen: Sequence[Stored]) -> list[RangeInput]:
    return [RangeInput(v.slot, v.version, v.sha256, v.created, v.size) for v in chosen]
