"""Rows to the journal in batches, one transaction per flush. When the disk refuses (full,
read-only, permissions), the rows stay in memory and judging goes on; the error is told once,
and the next flush that succeeds writes them all."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from agent.daemon.metrics import Metrics
from agent.errors import JournalError
from agent.journal import Journal, flow_entry
from agent.journal.chain import Entry
from agent.policy.judge import Verdict

PENDING_MAX = 1_000_000
"""Rows held in memory while the disk refuses them; past this the oldest are counted as lost
(the count goes into the next heartbeat)."""


class JournalWriter:
    def __init__(self, journal: Journal, metrics: Metrics) -> None:
        self.journal, self.metrics = journal, metrics
        self.pending: list[Entry] = []
        self.lost = 0
        self.failing = ""
        """The error the last flush met ("" when writing works)."""

    def add(self, verdicts: Sequence[Verdict], where: str) -> None:
        """A sink of the chain: each judged flow journaled with its verdict and process."""
        self.write([flow_entry(v.flow, v.evidence(), v.process) for v in verdicts])

    def write(self, entries: list[Entry]) -> None:
        self.pending.extend(entries)
        if len(self.pending) > PENDING_MAX:
            cut = len(self.pending) - PENDING_MAX
            self.lost += cut
            del self.pending[:cut]
        self.metrics.set("residency_journal_pending", len(self.pending))

    def flush(self) -> None:
        """Commit what is pending in one transaction, or keep it for the next flush."""
        if not self.pending:
            return
        try:
            self.journal.append(self.pending)
        except JournalError as err:
            if str(err) != self.failing:
                print(f"error: {err} (judging goes on; {len(self.pending)} rows kept in memory)",
                      file=sys.stderr, flush=True)  # fmt: skip
                self.failing = str(err)
            return
        if self.failing:
            print("journal: writing again", file=sys.stderr, flush=True)
            self.failing = ""
        self.pending = []
        self.metrics.set("residency_journal_pending", 0)
        path = self.journal.path
        size = sum(os.path.getsize(p) for p in (path, f"{path}-wal") if os.path.exists(p))
        self.metrics.set("residency_journal_bytes", size)

    def prune(self, before_ns: int) -> None:
        try:
            self.journal.prune(before_ns)
        except JournalError as err:
            print(f"error: {err}", file=sys.stderr, flush=True)

    def close(self) -> None:
        self.journal.close()
