"""The chain's last links, composed once: flows -> `Judge` -> sinks.

Every driver hands its flows here: `analyze` (captures read as a recording, flow record files,
a journal; `agent.chain.sources`), the daemon (live interfaces and flow exports) and the fleet's
map (a lake unit). `Chain.judge` is the one place that calls the judge and feeds its verdicts to
the sinks: a `Tally`, the journal, the alerts and the metrics, a source's share. It judges a
batch as columns (`Judge.judge_batch`); a sink that counts columns (`BatchSink`: the tally, the
shares) is given them, the others one `Verdict` each, made once for all of them.

Sans-IO: the sinks that write (the daemon's journal writer, its alerts) are the caller's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple, Protocol, runtime_checkable

from agent.model import Flow, FlowBatch, Process
from agent.policy.batch import Verdicts
from agent.policy.judge import Judge, Verdict


class Flows(NamedTuple):
    """Flows to judge, from one place: a capture, a record file, a journal, an interface, a
    host; `where` names it in the evidence pointers."""

    flows: FlowBatch | Sequence[Flow]
    where: str
    processes: Sequence[Process | None] | None = None
    """Each flow's owning process, when known (live mode, a journal, the lake)."""
    interfaces: Sequence[str | None] | None = None
    """Each flow's capturing interface, when known (live mode)."""


class Sink(Protocol):
    """Where verdicts go: counted (`Tally`, `Totals`), journaled, alerted, shown."""

    def add(self, verdicts: Sequence[Verdict], where: str) -> None: ...


@runtime_checkable
class BatchSink(Protocol):
    """A sink that counts verdicts as columns."""

    def add_batch(self, verdicts: Verdicts, where: str) -> None: ...


class Chain:
    """A judge and the sinks every verdict goes to."""

    def __init__(self, judge: Judge, *sinks: Sink | BatchSink) -> None:
        self.judging = judge
        """The judge in force; the daemon swaps it whole on reload."""
        self.sinks = list(sinks)

    def judge(self, given: Flows, *also: Sink | BatchSink) -> Verdicts:
        """Judge one batch of flows, in order; every sink (and `also`) is told the verdicts."""
        flows = given.flows
        batch = flows if isinstance(flows, FlowBatch) else FlowBatch.of(list(flows))
        verdicts = self.judging.judge_batch(batch, given.interfaces, given.processes)
        records: list[Verdict] | None = None
        for sink in (*self.sinks, *also):
            if isinstance(sink, BatchSink):
                sink.add_batch(verdicts, given.where)
                continue
            records = list(verdicts.records()) if records is None else records
            sink.add(records, given.where)
        return verdicts

    def run(self, source: Iterable[Flows], *also: Sink | BatchSink) -> None:
        """Judge every batch a source gives; `also`: sinks for this source alone."""
        for given in source:
            self.judge(given, *also)
