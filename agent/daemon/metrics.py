"""Prometheus metrics in the text exposition format, served over HTTP on a configured address
(127.0.0.1 by default: the numbers say what the host talks to)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from agent.findings.tally import Totals
from agent.policy.access import label
from agent.policy.judge import Verdict


class Metrics:
    """Counters and gauges, updated by the daemon's loop and read by the HTTP thread."""

    HELP = {
        "residency_flows_total": ("counter", "Flows judged, by verdict or scope."),
        "residency_bytes_total": ("counter", "IP bytes of judged flows, by verdict or scope."),
        "residency_capture_packets_total": ("counter", "Packets the kernel passed, by interface."),
        "residency_capture_drops_total": ("counter", "Packets the kernel dropped, by interface."),
        "residency_connections": ("gauge", "Open connections in the kernel's table."),
        "residency_attribution_ratio": ("gauge", "Share of judged flows with a known process."),
        "residency_journal_bytes": ("gauge", "Size of the journal file and its WAL."),
        "residency_journal_pending": ("gauge", "Rows waiting to be written to the journal."),
        "residency_ranges_age_seconds": ("gauge", "Age of the oldest range data in use."),
        "residency_alerts_total": ("counter", "Violations alerted."),
        "residency_alerts_undelivered_total": ("counter", "Alerts the webhook did not take."),
        "residency_lake_late_flows_total": ("counter", "Flows of days sealed already."),
    }

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.values: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()

    def add(self, name: str, amount: float = 1, **labels: str) -> None:
        with self.lock:
            self.values[(name, tuple(sorted(labels.items())))] += amount  # type: ignore[assignment]

    def set(self, name: str, value: float, **labels: str) -> None:
        with self.lock:
            self.values[(name, tuple(sorted(labels.items())))] = value  # type: ignore[assignment]

    def text(self) -> str:
        with self.lock:
            items = sorted(self.values.items())
        out = []
        for name, (kind, doc) in self.HELP.items():
            rows = [(labels, v) for (n, labels), v in items if n == name]
            out += [f"# HELP {name} {doc}", f"# TYPE {name} {kind}"]
            for labels, v in rows:
                tags = ",".join(f'{k}="{val}"' for k, val in labels)
                out.append(f"{name}{{{tags}}} {v:g}" if tags else f"{name} {v:g}")
        return "\n".join(out) + "\n"


class Judged:
    """A sink of the chain: the verdicts counted once (`Totals`, the tally's own count), and
    the metrics read from that count."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics, self.totals = metrics, Totals()
        self.attributed = 0
        """Flows judged with their process known."""

    @property
    def judged(self) -> int:
        return self.totals.flows

    def add(self, verdicts: Sequence[Verdict], where: str) -> None:
        self.totals.add(verdicts)
        self.attributed += sum(v.process is not None for v in verdicts)
        for kind in sorted({label(v) for v in verdicts}):
            c = self.totals[kind]
            self.metrics.set("residency_flows_total", c.flows, verdict=kind)
            self.metrics.set("residency_bytes_total", c.bytes, verdict=kind)
        if self.judged:
            self.metrics.set("residency_attribution_ratio", self.attributed / self.judged)


def serve(metrics: Metrics, address: str) -> ThreadingHTTPServer:
    """Serve /metrics on `host:port` from a daemon thread; -> the server (to shut it down)."""
    host, _, port = address.rpartition(":")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404)
                return
            body = metrics.text().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            """Quiet: scrapes are not events."""

    server = ThreadingHTTPServer((host.strip("[]") or "127.0.0.1", int(port)), Handler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
