"""A daemon's journal without root or a daemon: the demo capture's flows, spread over an hour and
written with the journal API as the agent writes them (start, inputs, flows as they end,
heartbeats with counters, stop), with one process attached to some flows and a 25-minute stretch
when the agent was not running.

    13:59 start  ... beats every 5 min ...  14:15 stop | not watching | 14:40 start ... 15:00 stop
    flows 0-12 at 14:00 + serial minutes             flows 13-25 at 14:30 + serial minutes
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agent.capture import open_capture
from agent.chain.pipeline import FlowPipeline, flows_from
from agent.journal import (
    Entry,
    Journal,
    flow_entry,
    heartbeat_entry,
    inputs_entry,
    start_entry,
    stop_entry,
)
from agent.model import Flow, Process
from tests.report.conftest import DEMO

SEC = 1_000_000_000
MIN = 60 * SEC
T0 = 1_772_460_000 * SEC
"""2026-03-02T14:00:00Z, where the demo capture begins."""
RUNS = ((T0 - MIN, T0 + 15 * MIN), (T0 + 40 * MIN, T0 + 60 * MIN))
"""When the agent ran; from 14:15 to 14:40 it did not."""
GAP = (RUNS[0][1], RUNS[1][0])
BEAT = 5 * MIN
RECEIVED, DROPS = 1000, (7, 0)
"""Packets each heartbeat's interval received, and kernel drops per interval in each run."""
APP = Process(4242, "app", "/usr/bin/app", "alice", ("app", "--serve"), T0 - 60 * MIN)


@dataclass(frozen=True)
class Beat:
    since_ns: int
    at_ns: int
    counters: dict[str, int]
    """Cumulative since its run's start, as the daemon counts."""


def demo_flows() -> list[Flow]:
    """The demo capture's flows, by serial, each moved to its minute of the hour."""
    found: list[Flow] = []
    with open_capture(str(DEMO)) as source:
        for batch in flows_from(source, FlowPipeline()):
            found.extend(batch.records())
    found.sort(key=lambda f: f.serial)
    return [_moved(f) for f in found]


def owner(flow: Flow) -> Process | None:
    """The app owns its TCP connections to port 443 from 10.20.0.15; nothing else is owned."""
    return APP if (flow.proto, flow.src, flow.dport) == (6, "10.20.0.15", 443) else None


def beats(flows: list[Flow]) -> list[Beat]:
    """The heartbeats of both runs, in order, counting the flows that ended in them."""
    out = []
    for n, (start, stop) in enumerate(RUNS):
        judged = attributed = received = drops = 0
        for since in range(start, stop, BEAT):
            at = min(since + BEAT, stop)
            ended = [f for f in flows if since <= f.last_ns < at]
            judged += len(ended)
            attributed += sum(owner(f) is not None for f in ended)
            received, drops = received + RECEIVED, drops + DROPS[n]
            counters = {"judged": judged, "attributed": attributed, "lost": 0,
                        "received": received, "drops": drops}  # fmt: skip
            out.append(Beat(since, at, counters))
    return out


def entries(flows: list[Flow], policy_sha256: str = "0" * 64) -> list[Entry]:
    """Every row the agent would have written, in the order it would have written them."""
    timed: list[tuple[int, int, Entry]] = []
    for start, stop in RUNS:
        info = {"version": "test", "host": "demo-host", "interfaces": ["eth0"]}
        timed += [(start, 0, start_entry(start, info)),
                  (start, 1, inputs_entry(start, policy_sha256, {"sites": "x"})),
                  (stop, 4, stop_entry(stop, "signal"))]  # fmt: skip
    timed += [(f.last_ns, 2, flow_entry(f, {"decision": "journaled"}, owner(f))) for f in flows]
    timed += [(b.at_ns, 3, heartbeat_entry(b.since_ns, b.at_ns, b.counters)) for b in beats(flows)]
    return [e for _, _, e in sorted(timed, key=lambda t: (t[0], t[1]))]


def write_journal(path: Path, flows: list[Flow]) -> Path:
    with Journal.open(path, create=True) as journal:
        journal.append(entries(flows))
    return path


def _moved(f: Flow) -> Flow:
    shift = f.serial * MIN + (30 * MIN if f.serial >= 13 else 0)
    return f._replace(first_ns=f.first_ns + shift, last_ns=f.last_ns + shift)
