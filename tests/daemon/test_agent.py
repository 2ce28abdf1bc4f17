"""The agent's logic as a normal process, no root: the demo capture (pcaps/demo.pcapng, made
against the demo world's real-format range files) replayed as an interface's packets, a real
SQLite journal in a temporary folder, and a real HTTP webhook on 127.0.0.1. Its journal, alerts
and metrics must tell what `analyze` tells of the same capture
(tests/findings/test_analyze.py proves that against a count by hand); the webhook's failure and
queue-full paths are counted and never stall the judging. The real sockets (AF_PACKET, sock_diag,
namespaces) stay in test_service.py."""

from __future__ import annotations

import io
import json
import threading
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from click.testing import CliRunner

from agent.cli import main
from agent.daemon.alerts import Alerts
from agent.daemon.config import Config
from agent.daemon.service import Agent
from agent.daemon.sources import Replay
from agent.journal import Journal, JournalFlow, verify_journal
from agent.policy.access import ACCESS, LABELS
from tests.support import PATIENCE, wait_for

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "pcaps" / "demo.pcapng"
WORLD = ROOT / "pcaps" / "demo-world"
POLICY = ROOT / "rules" / "policy.yaml"
HOST = "agent-under-test"
OUTBOUND = ("approved", "exempt", "violation", "unverified", "excluded", "out_of_scope")


class Webhook:
    """A real HTTP server on loopback that keeps every body POSTed to it; `status` is its
    answer, and while `hold` is clear it holds each request (a receiver that is slow)."""

    def __init__(self, status: int = 204) -> None:
        self.bodies: list[bytes] = []
        self.arrived = threading.Event()
        self.hold = threading.Event()
        self.hold.set()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.bodies.append(body)
                hook.arrived.set()
                hook.hold.wait(PATIENCE)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Callable[..., Webhook]]:
    made: list[Webhook] = []

    def make(status: int = 204) -> Webhook:
        made.append(Webhook(status))
        return made[-1]

    yield make
    for hook in made:
        hook.close()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    if not DEMO.exists():
        pytest.skip(f"needs the demo capture {DEMO} (pcaps/make_demo.py makes it)")
    files = [str(p) for p in sorted(WORLD.glob("demo-*"))] + [str(ROOT / "rules/sites.yaml")]
    env = {"RESIDENCY_HOME": str(tmp_path / "home")}
    assert CliRunner().invoke(main, ["ranges", "import", *files], env=env).exit_code == 0
    return tmp_path


def config(home: Path, webhook: str = "") -> Config:
    """No timeouts, as `analyze` by default: every flow ends with the capture."""
    return Config(policy=str(POLICY), data_dir=str(home / "data"), ranges_home=str(home / "home"),
                  metrics="127.0.0.1:0", webhook=webhook, idle_timeout=0, active_timeout=0,
                  heartbeat_interval=0.05, flush_interval=0.05, poll_interval=0.05)  # fmt: skip


def label(row: JournalFlow) -> str:
    v = row.verdict
    return LABELS[v["verdict"]] if v["scope"] == ACCESS else v["verdict"] or v["scope"]


@contextmanager
def running(make: Callable[[], Agent]) -> Iterator[Agent]:
    """An agent made and looping in a thread of its own, as the daemon's main thread (SQLite
    keeps a connection to its thread; signals stay with the test runner); stopped at the end as
    SIGTERM stops it, and it must exit 0."""
    made: list[Agent] = []
    code: list[int] = []
    up = threading.Event()

    def main() -> None:
        try:
            made.append(make())
        finally:
            up.set()
        code.append(made[0].loop())

    loop = threading.Thread(target=main, daemon=True)
    loop.start()
    assert up.wait(PATIENCE) and made, "the agent did not start"
    try:
        yield made[0]
    finally:
        made[0].stopping.set()
        loop.join(PATIENCE)
    assert not loop.is_alive() and code == [0], "the agent did not stop cleanly"


class Told(NamedTuple):
    """What `analyze` says of the demo capture: its document, the flows and accesses judged,
    and the alerts they make (violations in scope and access violations)."""

    doc: dict[str, Any]
    flows: int
    alerts: int


@pytest.fixture
def told(home: Path) -> Told:
    run = CliRunner().invoke(main, ["analyze", str(DEMO), "--policy", str(POLICY), "--json"],
                             env={"RESIDENCY_HOME": str(home / "home")})  # fmt: skip
    assert run.exit_code == 1, run.stderr  # the demo has violations
    doc = json.loads(run.stdout)
    h, access = doc["headline"], doc["access"]["headline"]
    flows = sum(h[k]["flows"] for k in OUTBOUND) + access["accesses"]["sessions"]
    alerts = h["violation"]["flows"] + access["access-violation"]["sessions"]
    assert alerts >= 3
    return Told(doc, flows, alerts)


def replayed(home: Path, alerts: Alerts) -> Callable[[], Agent]:
    """An agent on the demo capture replayed as interface demo0, with these alerts."""
    return lambda: Agent(config(home, alerts.webhook), sources=[Replay(str(DEMO), "demo0")],
                         alerts=alerts)  # fmt: skip


def journaled(home: Path) -> list[JournalFlow]:
    with Journal.open(home / "data" / "journal.sqlite") as journal:
        return list(journal.flows())


def scrape(agent: Agent) -> dict[str, float]:
    """The agent's /metrics as Prometheus scrapes it: each series (name{labels}) -> value."""
    assert agent.metrics_address, "no metrics served"
    host, port = agent.metrics_address
    with urllib.request.urlopen(f"http://{host!s}:{port}/metrics", timeout=PATIENCE) as reply:
        text = reply.read().decode()
    rows = [line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#")]
    return {series: float(value) for series, value in rows}


def series(name: str, **labels: str) -> str:
    tags = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{tags}}}" if tags else name


def metric(agent: Agent, name: str, **labels: str) -> float:
    return scrape(agent).get(series(name, **labels), 0.0)


def test_a_replayed_capture_is_journaled_alerted_and_counted_as_analyze_counts_it(
    home: Path, told: Told, webhook: Callable[..., Webhook]
) -> None:
    hook = webhook()
    out = io.StringIO()
    with running(replayed(home, Alerts(hook.url, HOST, out))) as agent:
        wait_for(lambda: agent.counted.judged >= told.flows, "every flow judged")
        wait_for(lambda: len(hook.bodies) >= told.alerts, "every alert at the webhook")
        scraped = scrape(agent)

    path = home / "data" / "journal.sqlite"
    check = verify_journal(str(path))
    assert check.ok and check.ended_with_stop, check
    rows = journaled(home)
    with Journal.open(path) as journal:
        last = list(journal.heartbeats())[-1].counters
    assert len(rows) == told.flows and last["judged"] == told.flows
    assert last["received"] == told.doc["inputs"]["captures"][0]["records"]
    flows, octets = Counter[str](), Counter[str]()
    for r in rows:
        flows[label(r)] += 1
        octets[label(r)] += r.flow.bytes_fwd + r.flow.bytes_rev
    h, access = told.doc["headline"], told.doc["access"]["headline"]
    for k in OUTBOUND:
        kind = "out" if k == "out_of_scope" else k
        assert (flows[kind], octets[kind]) == (h[k]["flows"], h[k]["bytes"]), k
    for k in ("allowed", "exempt", "unverified", "access-violation"):
        assert flows[LABELS[k]] == access[k]["sessions"], k
    for kind, n in flows.items():  # the metrics read the one count
        assert scraped[series("residency_flows_total", verdict=kind)] == n, kind
        assert scraped[series("residency_bytes_total", verdict=kind)] == octets[kind], kind
    assert scraped["residency_attribution_ratio"] == 0  # no connection table here

    lines = out.getvalue().splitlines()
    alerts = [json.loads(line) for line in lines]
    assert Counter(a["event"] for a in alerts) == {
        "violation": h["violation"]["flows"], "access-violation": 1}  # fmt: skip
    assert {a["host"] for a in alerts} == {HOST}
    bad = sorted((r.flow.dst, r.flow.dport) for r in rows if label(r) == "violation")
    assert sorted((a["dst"], a["dport"]) for a in alerts if a["event"] == "violation") == bad
    assert sorted(b.decode() for b in hook.bodies) == sorted(lines)  # each POSTed as told
    assert scraped["residency_alerts_total"] == len(alerts) == told.alerts
    assert agent.alerts.failed == agent.alerts.lost == 0


def test_a_failing_webhook_is_counted_and_the_judging_goes_on(
    home: Path, told: Told, webhook: Callable[..., Webhook]
) -> None:
    hook = webhook(status=500)
    out = io.StringIO()
    with running(replayed(home, Alerts(hook.url, HOST, out))) as agent:
        wait_for(lambda: agent.alerts.failed >= told.alerts, "the webhook's refusals")
        wait_for(lambda: metric(agent, "residency_alerts_undelivered_total") == told.alerts,
                 "the undelivered gauge")  # fmt: skip
    assert agent.alerts.failed == len(hook.bodies) == agent.alerts.sent == told.alerts
    assert len(out.getvalue().splitlines()) == told.alerts  # stdout (journald) has them all
    assert len(journaled(home)) == told.flows


def test_a_full_webhook_queue_drops_and_counts_and_never_stalls_the_judging(
    home: Path, told: Told, webhook: Callable[..., Webhook]
) -> None:
    """A receiver that takes the first alert and holds it: one more waits in the queue (its
    bound here), the rest are counted as lost, and every flow is still judged and journaled."""
    hook = webhook()
    hook.hold.clear()
    alerts = Alerts(hook.url, HOST, io.StringIO(), queue_max=1)
    with running(replayed(home, alerts)) as agent:
        wait_for(lambda: agent.counted.judged >= told.flows and alerts.sent == told.alerts,
                 "every flow judged while the webhook holds")  # fmt: skip
        wait_for(lambda: metric(agent, "residency_alerts_undelivered_total")
                 == alerts.failed + alerts.lost,
                 "the undelivered gauge")  # fmt: skip
        assert alerts.lost >= told.alerts - 2  # one held by the receiver, one in the queue
        hook.hold.set()
        wait_for(lambda: len(hook.bodies) + alerts.lost == told.alerts, "the held alerts")
    assert {json.loads(b)["host"] for b in hook.bodies} == {HOST}
    assert len(journaled(home)) == told.flows
