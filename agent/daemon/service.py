"""The agent's main loop: live packets and the connection table in, judged flows out to the
journal, alerts and metrics. The chain is the offline one (`FlowPipeline`, then `Chain`);
only the sources (live interfaces, flow exports) and the sinks (the journal writer, the alerts,
the metrics' count) differ, and the agent takes each of them, so its logic runs on a replayed
capture and a journal in a temporary folder as a normal process (tests/daemon/test_agent.py).

Threads: one per captured interface runs the pipeline and hands ended flows over a queue; the
main thread attributes, judges, journals, polls connections, beats and takes signals (SIGHUP
reloads the policy and ranges atomically, SIGTERM/SIGINT flush and stop).
"""

from __future__ import annotations

import queue
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Protocol

from agent import __version__
from agent.capture.live import LiveSource
from agent.chain.judging import Chain, Flows, Sink
from agent.chain.pipeline import FlowPipeline
from agent.daemon.alerts import Alerts
from agent.daemon.config import Config
from agent.daemon.connections import ConnectionEvent
from agent.daemon.exports import ExportSocket, RecordSource
from agent.daemon.inputs import load_inputs, warm_up
from agent.daemon.metrics import Judged, Metrics, serve
from agent.daemon.notify import sd_notify
from agent.daemon.sealer import Sealer
from agent.daemon.sources import Interface
from agent.daemon.writer import JournalWriter
from agent.errors import ResidencyError
from agent.journal import Journal, heartbeat_entry, inputs_entry, start_entry, stop_entry
from agent.journal.chain import Entry
from agent.model import OWNER_KEYS, Flow, FlowBatch, Process
from agent.policy.batch import Verdicts
from agent.policy.judge import Verdict

DAY_NS = 86_400 * 1_000_000_000
CONNECTION = "connection"
ENDED_MAX = 1_000
"""Batches of ended flows waiting to be judged; past this the capture threads wait, and the
kernel counts what the ring then drops, rather than memory growing without bound."""


def connection_entry(e: ConnectionEvent) -> Entry:
    """A connection opened, changed or closed, with its process: the journal keeps who talked,
    even for connections whose packets were not captured."""
    c, p = e.connection, e.process
    body = {"event": e.kind, "was": e.was, "connection": c._asdict(),
            "process": None if p is None else p.as_dict(OWNER_KEYS)}
    return Entry(CONNECTION, e.at_ns, body)


class OwnerSource(Protocol):
    """Who owns a 5-tuple: the connection tracker (agent.daemon.connections) on a host."""

    def poll(self, now_ns: int) -> Sequence[ConnectionEvent]: ...

    def owner_of(self, proto: int, src: str, sport: int, dst: str, dport: int) -> Process | None:
        ...

    def open_count(self) -> int: ...


class NoOwners:
    """No connection table (tests of the capture side alone): every flow's process unknown."""

    def poll(self, now_ns: int) -> Sequence[ConnectionEvent]:
        return ()

    def owner_of(self, proto: int, src: str, sport: int, dst: str, dport: int) -> Process | None:
        return None

    def open_count(self) -> int:
        return 0


class Shown:
    """A sink that hands each verdict to a function (`watch`'s lines)."""

    def __init__(self, view: Callable[[Verdict], None]) -> None:
        self.view = view

    def add(self, verdicts: Sequence[Verdict], where: str) -> None:
        for v in verdicts:
            self.view(v)


class Agent:
    """The agent's logic between its edges. Each edge can be handed in: `sources` (default:
    a `LiveSource` per configured interface), `records` (default: the configured flow export
    sockets), `journal` (default: the configured journal, created if absent) and `alerts`
    (default: stdout and the configured webhook)."""

    def __init__(self, config: Config, owners: OwnerSource | None = None,
                 view: Callable[[Verdict], None] | None = None,
                 records: Sequence[RecordSource] | None = None, *,
                 sources: Sequence[Interface] | None = None, journal: Journal | None = None,
                 alerts: Alerts | None = None) -> None:  # fmt: skip
        self.config = config
        self.host = socket.gethostname()
        self.inputs = load_inputs(config)
        self.owners: OwnerSource = owners or NoOwners()
        self.metrics = Metrics()
        self.alerts = alerts or Alerts(config.webhook, self.host)
        journal = journal or Journal.open(config.journal_path, create=True)
        self.writer = JournalWriter(journal, self.metrics)
        self.counted = Judged(self.metrics)
        self.sealer = Sealer(config, self.host, self.metrics) if config.lake else None
        sinks: list[Sink] = [self.counted, self.alerts, self.writer, *filter(None, [self.sealer])]
        self.chain = Chain(self.inputs.judge, *sinks, *([Shown(view)] if view else []))
        self.ended: queue.Queue[tuple[str | None, FlowBatch]] = queue.Queue(ENDED_MAX)
        self.stopping = threading.Event()
        self.reloading = threading.Event()
        self.sources = list(sources if sources is not None else
                            (LiveSource(i, config.filter) for i in config.interfaces))  # fmt: skip
        self.records = list(records if records is not None
                            else map(ExportSocket, config.flow_exports))  # fmt: skip
        for r in self.records:
            print(f"collecting flow exports on {r.name}", file=sys.stderr, flush=True)
        warm_up(config)
        self.metrics_address: tuple[str | bytes | bytearray, int] | None = None
        """Where /metrics is served while the loop runs (port 0 in the configuration: the
        kernel's pick)."""

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> int:
        """The service: signals taken, then `loop` until SIGTERM or SIGINT."""
        # The capture threads hand the GIL over at every compiled kernel; with Python's default
        # 5 ms switch interval a busy judging thread made them wait long enough for the ring to
        # overflow at 100k packets/s (bench/bench_daemon.py). 1 ms removed those drops.
        sys.setswitchinterval(0.001)
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, lambda *_: self.reloading.set())
        return self.loop()

    def loop(self) -> int:
        """Capture, judge, journal, poll and beat until `stopping` is set; then flush and stop.
        Any thread may set `stopping` (and `reloading`)."""
        server = serve(self.metrics, self.config.metrics) if self.config.metrics else None
        self.metrics_address = server.server_address[:2] if server else None
        now = time.time_ns()
        self.writer.write([start_entry(now, {"version": __version__, "host": self.host,
                                       "interfaces": list(self.config.interfaces)}),
                     self._inputs_entry(now)])  # fmt: skip
        self.writer.flush()
        threads = [threading.Thread(target=self._capture, args=(s,), name=s.path, daemon=True)
                   for s in self.sources]  # fmt: skip
        threads += [threading.Thread(target=self._collect, args=(r,), name=r.name, daemon=True)
                    for r in self.records]  # fmt: skip
        for t in threads:
            t.start()
        sd_notify("READY=1")
        beat_from = now
        next_poll = next_beat = next_flush = 0.0
        next_prune = time.monotonic() + 60
        while not self.stopping.is_set():
            self._drain(timeout=0.2)
            clock = time.monotonic()
            if self.reloading.is_set():
                self.reloading.clear()
                self._reload()
            if clock >= next_poll:
                self.writer.write([connection_entry(e) for e in self.owners.poll(time.time_ns())])
                self.metrics.set("residency_connections", self.owners.open_count())
                next_poll = clock + self.config.poll_interval
            seal = self.sealer is not None and self.sealer.due(time.time_ns(), clock)
            if seal:  # the heartbeat that closes the day is committed before the seal reads
                next_beat = next_flush = 0.0
            if clock >= next_beat:
                now = time.time_ns()
                self._gauges(now)
                self.writer.write([heartbeat_entry(beat_from, now, self._counters())])
                beat_from, next_beat = now, clock + self.config.heartbeat_interval
            if clock >= next_flush:
                self.writer.flush()
                next_flush = clock + self.config.flush_interval
            if self.sealer is not None:
                self.sealer.poll(clock)
                if seal:
                    self.sealer.start(time.time_ns(), clock)
            if self.config.retention_days and clock >= next_prune:
                self.writer.prune(time.time_ns() - int(self.config.retention_days * DAY_NS))
                next_prune = clock + 3600
        sd_notify("STOPPING=1")
        if self.sealer is not None:
            self.sealer.stop()
        for t in threads:
            t.join(timeout=10)
        self._drain(timeout=0)
        now = time.time_ns()
        self.writer.write([heartbeat_entry(beat_from, now, self._counters()),
                           stop_entry(now, "signal")])  # fmt: skip
        self.writer.flush()
        self.alerts.close()
        if server:
            server.shutdown()
            server.server_close()
        self.writer.close()
        return 0

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping.set()

    def _capture(self, source: Interface) -> None:
        """One interface: packets -> flows, ended flows onto the queue; the pipeline is this
        thread's alone."""
        c = self.config
        pipe = FlowPipeline(c.idle_timeout, c.active_timeout)
        last_tick = time.monotonic()
        try:
            for batch in source.batches():
                ended = pipe.feed(batch)
                if len(ended):
                    self.ended.put((source.interface, ended))
                if time.monotonic() - last_tick >= 1.0:
                    ended = pipe.tick(time.time_ns())
                    if len(ended):
                        self.ended.put((source.interface, ended))
                    packets, drops = source.stats()
                    self.metrics.add("residency_capture_packets_total", packets,
                                     interface=source.interface)  # fmt: skip
                    self.metrics.add("residency_capture_drops_total", drops,
                                     interface=source.interface)  # fmt: skip
                    last_tick = time.monotonic()
                if self.stopping.is_set():
                    break
        except ResidencyError as err:
            print(f"error: {err}", file=sys.stderr, flush=True)
        finally:
            self.ended.put((source.interface, pipe.finish()))
            source.close()

    def _collect(self, source: RecordSource) -> None:
        """One flow export socket: each record becomes a flow (counts as the exporter gave
        them, scaled by its sampling), judged like a captured one; no interface."""
        try:
            while not self.stopping.is_set():
                records = source.receive(0.2)
                if records:
                    self.ended.put((None, FlowBatch.of([r.as_flow() for r in records])))
        finally:
            source.close()

    def _drain(self, timeout: float) -> None:
        try:
            first = self.ended.get(timeout=timeout) if timeout else self.ended.get_nowait()
        except queue.Empty:
            return
        batches = [first]
        while True:
            try:
                batches.append(self.ended.get_nowait())
            except queue.Empty:
                break
        for interface, batch in batches:
            self.judge(list(batch.records()), interface)

    # -- judging ----------------------------------------------------------------------------

    def judge(self, flows: list[Flow], interface: str | None = None) -> Verdicts:
        """Attribute flows to their processes, then through the chain to every sink."""
        owners = [self.owners.owner_of(f.proto, f.src, f.sport, f.dst, f.dport) for f in flows]
        interfaces = [interface] * len(flows)
        verdicts = self.chain.judge(Flows(flows, interface or "", owners, interfaces))
        if self.alerts.sent:
            self.metrics.set("residency_alerts_total", self.alerts.sent)
        return verdicts

    def _reload(self) -> None:
        """SIGHUP: the new policy and ranges replace the old only if they load whole."""
        try:
            fresh = load_inputs(self.config)
        except ResidencyError as err:
            print(f"error: reload refused, the old policy stays: {err}", file=sys.stderr,
                  flush=True)  # fmt: skip
            return
        self.inputs = fresh
        self.chain.judging = fresh.judge
        self.writer.write([self._inputs_entry(time.time_ns())])
        print(f"reloaded: policy sha256:{fresh.policy.sha256[:16]}, "
              f"{len(fresh.ranges)} range sources", file=sys.stderr, flush=True)  # fmt: skip

    def _inputs_entry(self, now: int) -> Entry:
        i = self.inputs
        ranges = {v.slot: v.sha256 for v in i.ranges}
        return inputs_entry(now, i.policy.sha256, ranges, i.policy.path)

    def _gauges(self, now_ns: int) -> None:
        """What is read, not counted: the age of the oldest range data in force, and the alerts
        the webhook failed to take."""
        if self.inputs.ranges:
            oldest = min(v.dated for v in self.inputs.ranges).timestamp()
            self.metrics.set("residency_ranges_age_seconds", int(now_ns / 1e9 - oldest))
        undelivered = self.alerts.failed + self.alerts.lost
        self.metrics.set("residency_alerts_undelivered_total", undelivered)

    def _counters(self) -> dict[str, int]:
        return {
            "judged": self.counted.judged, "attributed": self.counted.attributed,
            "lost": self.writer.lost,
            "received": sum(s.received for s in self.sources),
            "drops": sum(s.drops for s in self.sources),
        }  # fmt: skip
