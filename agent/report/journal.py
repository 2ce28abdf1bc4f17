"""A report from a daemon's journal: the analysis, bounded at a verified head, and what the
journal says about how well the agent watched (its heartbeats' counters, the hosts and
interfaces it watched, in-scope flows that no process owned).

An edge: it opens the journal, so that `build` stays pure. `report` and `report verify` both
come through `from_journal`, so a re-run reads exactly what the report read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from agent.chain.offline import analyze_journal
from agent.errors import JournalError, ReportError
from agent.findings.analysis import Analysis
from agent.findings.document import JournalInput
from agent.findings.tally import Count
from agent.intel.store import Store, Stored
from agent.journal import Head, Heartbeat, Journal, verify_journal
from agent.journal import StoredRow as Row
from agent.journal.kinds import START
from agent.policy.model import Policy
from agent.report.coverage import Watch


def from_journal(
    path: str, policy: Policy, store: Store, chosen: Sequence[Stored],
    since_ns: int | None, until_ns: int | None, head: Head | None = None,
) -> tuple[Analysis, list[Watch]]:  # fmt: skip
    """Analyse the journal's flows in [since, until) and read how well they were watched. With
    the `head` a report recorded, first prove that the journal still holds it (nothing up to it
    was cut or rewritten) and read no row after it: rows appended since change nothing."""
    if head is not None:
        _holds(path, head)  # the report's own words when the journal changed
    result = analyze_journal(path, policy, store, chosen, since_ns, until_ns, head=head)
    return result, [watched(j, result.tally.unattributed) for j in result.journals]


def watched(entry: JournalInput, unattributed: Count) -> Watch:
    """The journal's own account of its period, from rows up to its head: heartbeats (their
    counters) and start rows (hosts, interfaces); with the in-scope flows the analysis found
    no process for."""
    last = Head.parse(entry.head).seq
    start, end = entry.since_ns, entry.until_ns
    with Journal.open(entry.path) as journal:
        starts = [r for r in journal.entries(START) if r.seq <= last]
        beats = [b for b in journal.heartbeats(start, end) if b.seq <= last and b.at_ns > start]
        beats.sort(key=lambda b: b.seq)
        before = _before(journal, beats[0], starts) if beats else None
    counted = (min(b.since_ns for b in beats), max(b.at_ns for b in beats)) if beats else None
    runs = _runs(starts, start, end)
    return Watch(len(beats), increments(beats, before, [s.seq for s in starts]), counted,
                 unattributed.flows, unattributed.bytes, _texts(r.body.get("host") for r in runs),
                 _texts(i for r in runs for i in _list(r.body.get("interfaces"))))  # fmt: skip


def increments(
    beats: list[Heartbeat], before: Heartbeat | None, starts: list[int]
) -> dict[str, int]:
    """What the heartbeats counted in their own intervals, summed: the daemon's counters run
    from its start, so each beat counts its total less the previous beat's in the same run."""
    total: Counter[str] = Counter()
    prev = before
    for beat in beats:
        same_run = prev is not None and not any(prev.seq < s < beat.seq for s in starts)
        base = prev.counters if prev is not None and same_run else {}
        for name, value in beat.counters.items():
            if type(value) is not int:  # a counter the daemon never writes: not a number to add
                continue
            was = base.get(name, 0)
            total[name] += value - was if value >= was else value
        prev = beat
    return dict(sorted(total.items()))


def _holds(path: str, head: Head) -> None:
    """Prove the journal intact up to `head`, in the report's terms (ReportError) if not."""
    try:
        check = verify_journal(path, [head])
    except JournalError as err:
        raise ReportError(f"{path}: cannot check the journal the report names: {err}") from err
    if not check.ok:
        raise ReportError(f"{path}: the journal is not the one the report read (its head was "
                          f"{head}): {check}")  # fmt: skip
    if head.seq < check.first_seq:
        raise ReportError(f"{path}: rows before seq {check.first_seq} were pruned since the "
                          f"report, so its head {head} can no longer be checked")  # fmt: skip


def _before(journal: Journal, first: Heartbeat, starts: list[Row]) -> Heartbeat | None:
    """The heartbeat before `first` in the same run, if any: the one that ends where `first`
    begins, else (a beat lost in between) the last one since the run's start row."""
    run = max((s.seq for s in starts if s.seq < first.seq), default=0)
    run_ns = next((s.ts_ns for s in starts if s.seq == run), None)
    for since in (first.since_ns, run_ns):
        found = [b for b in journal.heartbeats(since, first.since_ns + 1)
                 if run < b.seq < first.seq]  # fmt: skip
        if found:
            return max(found, key=lambda b: b.seq)
    return None


def _runs(starts: list[Row], since_ns: int, until_ns: int) -> list[Row]:
    """The start rows whose runs overlap [since, until]: the last one at or before `since`, and
    every one after it up to `until`."""
    ordered = sorted(starts, key=lambda r: r.seq)
    first = max((n for n, r in enumerate(ordered) if r.ts_ns <= since_ns), default=0)
    return [r for r in ordered[first:] if r.ts_ns <= until_ns]


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _texts(values: Iterable[object]) -> tuple[str, ...]:
    return tuple(sorted({str(v) for v in values if v is not None and v != ""}))
