"""The chain's last links, composed once: flows -> `Judge` -> sinks.

Every driver hands its flows here: `analyze` (captures read as a recording, flow record files,
a journal; `agent.chain.sources`), the daemon (live interfaces and flow exports) and the fleet's
map (a lake unit). `Chain.judge` is the one place that calls the judge and feeds its verdicts to
the sinks: a `Tally`, the journal, the alerts and the metrics, a source's share. A batch
(columnar) judge replaces the body of `Chain.judge` alone.

Sans-IO: the sinks that write (the daemon's journal writer, its alerts) are the caller's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple, Protocol

from agent.model import Flow, FlowBatch, Process
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


class Chain:
    """A judge and the sinks every verdict goes to."""

    def __init__(self, judge: Judge, *sinks: Sink) -> None:
        self.judging = judge
        """The judge in force; the daemon swaps it whole on reload."""
        self.sinks = list(sinks)

    def judge(self, given: Flows, *also: Sink) -> list[Verdict]:
        """Judge one batch of flows, in order; every sink (and `also`) is told the verdicts."""
        flows = given.flows
        records = list(flows.records()) if isinstance(flows, FlowBatch) else list(flows)
        verdicts = self.judging.judge(records, given.interfaces, given.processes)
        for sink in (*self.sinks, *also):
            sink.add(verdicts, given.where)
        return verdicts

    def run(self, source: Iterable[Flows], *also: Sink) -> None:
        """Judge every batch a source gives; `also`: sinks for this source alone."""
        for given in source:
            self.judge(given, *also)
