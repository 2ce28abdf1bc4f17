"""The offline driver: captures -> flows -> names -> lookups -> verdicts -> tally.

This is the edge that opens and hashes files; the chain itself is `FlowPipeline` and `Judge`,
the same two the daemon runs on live traffic.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from agent.analysis.document import CaptureInput, JournalInput, RangeInput
from agent.analysis.tally import Tally
from agent.capture import open_capture
from agent.errors import CorruptCapture, InputError, JournalError
from agent.files import open_input
from agent.intel.store import Store, Stored
from agent.journal import Head, Journal, unwatched, verify_journal
from agent.model import Flow, Process
from agent.pipeline import FlowPipeline, flows_from
from agent.policy.judge import Judge
from agent.policy.model import Policy

Progress = Callable[[int], None]
"""Told how many more bytes of capture were read."""


@dataclass(frozen=True, slots=True)
class Analysis:
    tally: Tally
    captures: list[CaptureInput]
    ranges: list[RangeInput]
    damaged: CorruptCapture | None
    """The first capture that turned out damaged part-way (its flows before the damage count)."""
    journals: list[JournalInput] = field(default_factory=list)


def analyze(
    paths: Sequence[str], policy: Policy, store: Store, chosen: Sequence[Stored],
    progress: Progress | None = None, idle_timeout: float = 0.0,
) -> Analysis:  # fmt: skip
    judge = Judge(policy, store.table(chosen))
    tally = Tally()
    captures: list[CaptureInput] = []
    damaged: CorruptCapture | None = None
    for path in paths:
        digest, size = file_sha256(path)
        pipe = FlowPipeline(idle_timeout)
        error = ""
        try:
            with open_capture(path) as source:
                read = 0
                for batch in flows_from(source, pipe):
                    tally.add(judge.judge(list(batch.records())), path)
                    if progress:
                        progress(pipe.stats.read_to - read)
                        read = pipe.stats.read_to
        except CorruptCapture as err:
            error, damaged = str(err), damaged or err
        captures.append(CaptureInput(path, digest, size, pipe.stats, error))
    ranges = [RangeInput(v.slot, v.version, v.sha256, v.created, v.size) for v in chosen]
    return Analysis(tally, captures, ranges, damaged)


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
    return Analysis(tally, [], ranges, None, [entry])


def file_sha256(path: str) -> tuple[str, int]:
    """A capture's sha256 and size, named in the analysis so a re-run can prove it read the
    same bytes."""
    if path == "-":
        raise InputError("-: standard input cannot be analysed: its hash must be known")
    with open_input(path) as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
        return digest, os.fstat(f.fileno()).st_size
