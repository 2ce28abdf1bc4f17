"""The real daemon against real traffic: two network namespaces joined by a veth pair, the far
side holding addresses from Oracle's real range file (us-ashburn-1 and ap-singapore-1), a DNS
server and TLS/UDP listeners there; a client process on the near side resolves names and makes
real TLS handshakes. Nothing leaves the machine. The journal must then hold every flow with its
names, process and verdict, verify clean, and end with a clean stop; the daemon must survive
`kill -9` without losing a committed row."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agent.cli import main
from agent.cli.base import utcnow
from agent.intel.store import Store, read_bytes
from agent.journal import Journal, JournalFlow, verify_journal
from tests.support import PATIENCE, deadline, ended, until_ready, wait_for
from tests.truth import SHARED

ROOT = Path(__file__).resolve().parents[2]
RESIDENCY = Path(sys.executable).with_name("residency")
OCI_FILE = SHARED / "ranges" / "oci-public_ip_ranges.json"
ASHBURN, SINGAPORE = "129.213.8.10", "161.118.192.20"
"""In 129.213.8.0/21 (us-ashburn-1) and 161.118.192.0/18 (ap-singapore-1) of Oracle's file."""
POLICY = """\
version: 1
scope:
  include:
    - name: host
      local: [10.20.0.0/24, 127.0.0.0/8]
  exclude:
    - name: resolver
      remote: 10.20.0.2
      ports: 53
approve:
  - name: oracle-us
    provider: oci
    regions: [us-ashburn-1]
"""


def _can_make_namespaces() -> str:
    if os.geteuid() != 0:
        return "network namespaces need root"
    name = f"rzprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if made.returncode:
        return f"`ip netns add` failed: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], check=True)
    return ""


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    if not OCI_FILE.exists():
        pytest.skip(f"needs Oracle's range file at {OCI_FILE} (CI has it)")
    Store(tmp_path / "home").add(read_bytes(str(OCI_FILE)), OCI_FILE.name, utcnow())
    (tmp_path / "policy.yaml").write_text(POLICY)
    return tmp_path


@pytest.fixture
def namespaces() -> Iterator[tuple[str, str]]:
    why = _can_make_namespaces()
    if why:
        pytest.skip(why)
    near, far = f"rzn{os.getpid()}", f"rzf{os.getpid()}"
    ip("netns", "add", near)
    ip("netns", "add", far)
    try:
        ip("link", "add", "va", "netns", near, "type", "veth", "peer", "name", "vb", "netns", far)
        for ns, dev, addrs in ((near, "va", ["10.20.0.15/24"]),
                               (far, "vb", ["10.20.0.2/24", f"{ASHBURN}/32", f"{SINGAPORE}/32"])):
            for a in addrs:
                ip("-n", ns, "addr", "add", a, "dev", dev)
            ip("-n", ns, "link", "set", dev, "up")
            ip("-n", ns, "link", "set", "lo", "up")
        ip("-n", near, "route", "add", "default", "via", "10.20.0.2")
        yield near, far
    finally:
        for ns in (near, far):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def in_ns(ns: str | None, *argv: str) -> list[str]:
    return ["ip", "netns", "exec", ns, *argv] if ns else list(argv)


def start_daemon(home: Path, ns: str | None, interface: str, bpf: str = "",
                 metrics: str = "", idle: float = 30, more: dict[str, Any] | None = None,
                 env: dict[str, str] | None = None) -> subprocess.Popen[str]:  # fmt: skip
    """The daemon with the tests' settings, and `more` of them; `env` for its process."""
    config = home / "agent.yaml"
    config.write_text(json.dumps({
        "policy": str(home / "policy.yaml"), "interfaces": [interface], "filter": bpf,
        "data_dir": str(home / "data"), "ranges_home": str(home / "home"), "metrics": metrics,
        "poll_interval": 0.2, "idle_timeout": idle, "heartbeat_interval": 0.5,
        "flush_interval": 0.2, **(more or {}),
    }))  # fmt: skip
    return start(home, in_ns(ns, str(RESIDENCY), "daemon", "--config", str(config)), env)


def start(home: Path, argv: list[str], more_env: dict[str, str] | None = None,
          ) -> subprocess.Popen[str]:  # fmt: skip
    """Run the agent and wait until it tells systemd's readiness socket it is READY."""
    ready = home / "notify.sock"
    ready.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(ready))
    env = {**os.environ, "NOTIFY_SOCKET": str(ready), "PYTHONUNBUFFERED": "1",
           "RESIDENCY_HOME": str(home / "home"), **(more_env or {})}  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT)  # fmt: skip
    try:
        until_ready(listener, proc)
    finally:
        listener.close()
    return proc


def peer(ns: str | None, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(in_ns(ns, sys.executable, "-m", "tests.daemon.peers", *args),
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)  # fmt: skip


def stop(proc: subprocess.Popen[str] | None) -> None:
    """Kill if still running, and close its pipes either way."""
    if proc is None:
        return
    if proc.poll() is None:
        proc.kill()
    for pipe in (proc.stdout, proc.stderr):
        if pipe:
            pipe.close()
    proc.wait()


def until_said(proc: subprocess.Popen[str], words: str) -> str:
    """The agent's stderr up to and including the first line with `words`: a condition to wait
    for, where a fixed sleep would race a busy machine."""
    assert proc.stderr is not None
    lines: list[str] = []
    with deadline(PATIENCE, cpu=False):  # a stuck agent fails the test, not the run
        while not lines or words not in lines[-1]:
            line = proc.stderr.readline()
            assert line, f"the agent ended before saying {words!r}: {''.join(lines)}"
            lines.append(line)
    return "".join(lines)


def crossed(ns: str, dev: str) -> int:
    """Packets through `dev` in `ns` so far, both ways, by the kernel's interface counters."""
    shown = subprocess.run(["ip", "-n", ns, "-s", "-j", "link", "show", dev], check=True,
                           capture_output=True, text=True).stdout  # fmt: skip
    stats = json.loads(shown)[0]["stats64"]
    return int(stats["rx"]["packets"] + stats["tx"]["packets"])


def until_captured(home: Path, packets: int) -> None:
    """Wait until the daemon's heartbeats say it has taken in at least `packets` from its
    ring: the packets that crossed its interface since it was READY, so a stop that follows
    loses none of them (a fixed sleep would race a busy machine)."""

    def received() -> int:
        with Journal.open(home / "data" / "journal.sqlite") as j:
            return max((b.counters.get("received", 0) for b in j.heartbeats()), default=0)

    wait_for(lambda: received() >= packets, f"the daemon to take in {packets} packets")


def journal_flows(home: Path) -> list[JournalFlow]:
    with Journal.open(home / "data" / "journal.sqlite") as j:
        return list(j.flows())


def test_daemon_judges_real_traffic_between_namespaces(
    home: Path, namespaces: tuple[str, str]
) -> None:
    near, far = namespaces
    server = peer(far, "serve", "10.20.0.2", f"api.us.app.example={ASHBURN}",
                  f"backup.sg.app.example={SINGAPORE}")  # fmt: skip
    assert server.stdout and server.stdout.readline().strip() == "ready"
    daemon = start_daemon(home, near, "va", metrics="127.0.0.1:19469")
    before = crossed(near, "va")
    client: subprocess.Popen[str] | None = None
    try:
        client = peer(near, "client", "10.20.0.2", "api.us.app.example", "backup.sg.app.example",
                      "--udp", SINGAPORE, "--hold", "1.5")  # fmt: skip
        assert client.stdout and client.stdout.readline().strip() == "done"
        ended(client)
        metrics = subprocess.run(
            in_ns(near, sys.executable, "-c", "import urllib.request as u; print(u.urlopen("
                  "'http://127.0.0.1:19469/metrics').read().decode())"),
            capture_output=True, text=True, check=True).stdout  # fmt: skip
        until_captured(home, crossed(near, "va") - before)
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=PATIENCE)
    finally:
        for proc in (daemon, server, client):
            stop(proc)
    assert daemon.returncode == 0, err
    assert 'residency_capture_packets_total{interface="va"}' in metrics, err
    assert re.search(r"^residency_connections \d+$", metrics, re.M)  # a sample, polled
    assert re.search(r"^residency_ranges_age_seconds \d+", metrics, re.M)

    check = verify_journal(str(home / "data" / "journal.sqlite"))
    assert check.ok and check.ended_with_stop, check
    by_dst = {(f.flow.proto, f.flow.dst, f.flow.dport): f for f in journal_flows(home)}
    approved = by_dst[(6, ASHBURN, 443)]
    leak = by_dst[(6, SINGAPORE, 443)]
    udp = by_dst[(17, SINGAPORE, 5000)]
    dns = by_dst[(17, "10.20.0.2", 53)]
    assert approved.verdict["verdict"] == "approved"
    assert approved.verdict["rule"]["name"] == "oracle-us"
    assert approved.verdict["answer"]["region"] == "us-ashburn-1"
    assert ("sni", "api.us.app.example") in approved.flow.names
    assert ("dns", "api.us.app.example") in approved.flow.names
    assert leak.verdict["verdict"] == "violation"
    assert leak.verdict["answer"]["region"] == "ap-singapore-1"
    assert ("sni", "backup.sg.app.example") in leak.flow.names
    assert udp.verdict["verdict"] == "violation"
    assert dns.verdict["scope"] == "excluded"
    for held in (approved, leak):  # open for 1.5 s: the connection table saw them
        assert held.process is not None and client and held.process.pid == client.pid
        assert held.process.name.startswith("python")
    assert approved.flow.packets_fwd >= 3 and approved.flow.src == "10.20.0.15"

    alerts = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    leaked = {(a["dst"], a["dport"]) for a in alerts if a["event"] == "violation"}
    assert leaked == {(SINGAPORE, 443), (SINGAPORE, 5000)}

    journal = str(home / "data" / "journal.sqlite")
    env = {"RESIDENCY_HOME": str(home / "home")}
    listed = CliRunner().invoke(main, ["flows", "--journal", journal, "--json"], env=env)
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert {(r["dst"], r["dport"]) for r in rows} == {k[1:] for k in by_dst}
    judged = CliRunner().invoke(main, ["analyze", "--journal", journal, "--policy",
                                       str(home / "policy.yaml"), "--json"], env=env)  # fmt: skip
    doc = json.loads(judged.stdout)
    assert judged.exit_code == 1
    assert doc["inputs"]["journals"][0]["head"] == f"{check.last_seq}:{check.head}"
    assert doc["headline"]["approved"]["flows"] == 1
    assert {v["address"] for v in doc["violations"]} == {SINGAPORE}
    assert doc["violations"][0]["processes"]  # the held TLS connection's owner


def listening() -> socket.socket:
    """A loopback listener on a port the kernel picked free."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    return listener


def _loopback_traffic(listener: socket.socket, done: threading.Event) -> None:
    """Short TCP connections to `listener` until `done`; the listener is closed at the end."""
    port = listener.getsockname()[1]
    with listener:
        while not done.is_set():
            c = socket.create_connection(("127.0.0.1", port))
            a, _ = listener.accept()
            c.sendall(b"x" * 300)
            a.recv(1000)
            c.close()
            a.close()
            time.sleep(0.005)


def kill_rounds(home: Path, listener: socket.socket, rounds: int, rng: random.Random) -> None:
    """Start the daemon on loopback traffic to `listener` and kill -9 it at a random moment,
    `rounds` times: each time the journal verifies and keeps every row committed before."""
    port = listener.getsockname()[1]
    committed: set[int] = set()
    done = threading.Event()
    traffic = threading.Thread(target=_loopback_traffic, args=(listener, done), daemon=True)
    for round_ in range(rounds):
        daemon = start_daemon(home, None, "lo", bpf=f"tcp port {port}", idle=0.3)
        if round_ == 0:
            traffic.start()
        if round_ == rounds - 1:  # so the journal has rows to keep, however slow the machine
            wait_for(lambda: journal_flows(home), "a flow committed")
        time.sleep(rng.uniform(1.5, 3.0))  # a random moment to kill at, not a wait
        daemon.send_signal(signal.SIGKILL)
        stop(daemon)
        check = verify_journal(str(home / "data" / "journal.sqlite"))
        assert check.ok, check
        seqs = {f.seq for f in journal_flows(home)}
        assert committed <= seqs, f"round {round_}: lost {sorted(committed - seqs)[:5]}"
        committed = seqs
    done.set()
    traffic.join(PATIENCE)
    assert committed, "no flow was ever committed"


def test_kill_9_loses_no_committed_flow(home: Path) -> None:
    """Killed at random moments mid-write, restarted each time: the journal always opens and
    verifies, and every flow row seen committed before a kill is still there after it."""
    if os.geteuid() != 0:
        pytest.skip("live capture needs root (CAP_NET_RAW)")
    rng = random.Random(20261129)
    listener = listening()
    kill_rounds(home, listener, 4, rng)


def test_sighup_reloads_the_policy_and_refuses_a_bad_one(home: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("live capture needs root (CAP_NET_RAW)")
    policy = home / "policy.yaml"
    daemon = start_daemon(home, None, "lo", bpf="tcp port 9")
    try:
        policy.write_text(POLICY.replace("regions:", "region:"))
        daemon.send_signal(signal.SIGHUP)
        said = until_said(daemon, "reload refused")  # taken in before the next write
        policy.write_text(POLICY.replace("us-ashburn-1]", "us-ashburn-1, us-phoenix-1]"))
        daemon.send_signal(signal.SIGHUP)
        said += until_said(daemon, "reloaded:")
        daemon.send_signal(signal.SIGTERM)
        _, rest = daemon.communicate(timeout=PATIENCE)
        err = said + rest
    finally:
        stop(daemon)
    assert daemon.returncode == 0
    refused = [line for line in err.splitlines() if "reload refused" in line]
    assert refused == [f"error: reload refused, the old policy stays: {policy}:13:5: unknown key "
                       "'region' (did you mean 'regions'?)"]  # fmt: skip
    with Journal.open(home / "data" / "journal.sqlite") as j:
        shas = [row.body["policy_sha256"] for row in j.entries("inputs")]
    assert shas == [hashlib.sha256(POLICY.encode()).hexdigest(),
                    hashlib.sha256(policy.read_bytes()).hexdigest()]  # fmt: skip


def test_a_full_disk_keeps_the_verdicts_in_memory_until_writing_works(home: Path) -> None:
    """The journal's size cap makes SQLite's real "disk full"; the agent keeps judging, holds
    the rows, reports the error once, and writes them all when there is room again."""
    from agent.daemon.config import Config
    from agent.daemon.service import Agent
    from agent.model import Flow

    config = Config(policy=str(home / "policy.yaml"), data_dir=str(home / "data"),
                    ranges_home=str(home / "home"), metrics="")  # fmt: skip
    agent = Agent(config)
    writer = agent.writer
    path = config.journal_path
    writer.journal.close()
    writer.journal = Journal.open(path, max_bytes=path.stat().st_size + 8192)
    flows = [Flow(proto=6, src="10.20.0.15", sport=40000 + i, dst=ASHBURN, dport=443, depth=0,
                  packets_fwd=5, bytes_fwd=600, frame_bytes_fwd=700, packets_rev=4,
                  bytes_rev=3000, frame_bytes_rev=3100, first_ns=10**18 + i,
                  last_ns=10**18 + i + 10**9, tcp_flags_fwd=0x1B, tcp_flags_rev=0x1B,
                  end="idle", serial=i) for i in range(500)]
    verdicts = agent.judge(flows)
    assert {v.verdict for v in verdicts} == {"approved"}
    writer.flush()  # refused: the rows stay pending
    assert len(writer.pending) == 500 and writer.failing
    assert not journal_flows(home)
    writer.journal.close()
    writer.journal = Journal.open(path)  # room again
    writer.flush()
    assert not writer.pending and not writer.failing
    assert len(journal_flows(home)) == 500
    writer.close()
    assert verify_journal(str(path)).ok


def test_watch_shows_a_line_per_judged_flow(home: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("live capture needs root (CAP_NET_RAW)")
    listener = listening()
    port = listener.getsockname()[1]
    watch = start(home, [str(RESIDENCY), "watch", "-i", "lo", "--filter", f"tcp port {port}",
                         "--policy", str(home / "policy.yaml"), "--data-dir",
                         str(home / "watch")])  # fmt: skip
    try:
        done = threading.Event()
        threading.Timer(0.5, done.set).start()
        _loopback_traffic(listener, done)
        time.sleep(0.5)  # the kernel hands over a block of the ring 100 ms after its first packet
        watch.send_signal(signal.SIGTERM)
        out, err = watch.communicate(timeout=PATIENCE)
    finally:
        stop(watch)
    assert watch.returncode == 0, err
    lines = [line.split() for line in out.splitlines()]
    assert lines and all(line[1] == "unverified" for line in lines), out
    # Only the filter's port, from the first packet on (other tests' loopback traffic runs too).
    assert all(line[4] == f"127.0.0.1:{port}" for line in lines), out


FRANKFURT = "92.5.0.20"
"""In 92.5.0.0/17 (eu-frankfurt-1) of Oracle's file."""
ANSWER = 48_000
"""Bytes the protected service sends back to each client."""
ACCESS_POLICY = POLICY + """\
access:
  protect:
    - name: us-user-db
      networks: [10.20.0.15]
      ports: [5432]
      protocols: [tcp]
  allow:
    - name: oracle-us-staff
      provider: oci
      regions: [us-ashburn-1]
  exceptions:
    - name: frankfurt-audit
      reason: The auditors' reading from Frankfurt, agreed until the end of 2099
      networks: [92.5.0.0/17]
      until: 2099-12-31
"""


def test_daemon_judges_access_into_a_protected_service(
    home: Path, namespaces: tuple[str, str]
) -> None:
    """A TCP service in the protected (near) namespace; clients on the far side dial it from
    three of Oracle's real addresses: each access judged, with the serving process named."""
    near, far = namespaces
    for a in (FRANKFURT,):
        ip("-n", far, "addr", "add", f"{a}/32", "dev", "vb")
    (home / "policy.yaml").write_text(ACCESS_POLICY)
    service = peer(near, "db", "10.20.0.15", "5432", str(ANSWER))
    assert service.stdout and service.stdout.readline().strip() == "ready"
    daemon = start_daemon(home, near, "va")
    before = crossed(near, "va")
    clients: subprocess.Popen[str] | None = None
    try:
        clients = peer(far, "dial", ASHBURN, SINGAPORE, FRANKFURT, "--to", "10.20.0.15", "5432",
                       str(ANSWER), "--hold", "1.5")  # fmt: skip
        assert clients.stdout and clients.stdout.readline().strip() == "done"
        ended(clients)
        until_captured(home, crossed(near, "va") - before)
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=PATIENCE)
    finally:
        for proc in (daemon, service, clients):
            stop(proc)
    assert daemon.returncode == 0, err
    check = verify_journal(str(home / "data" / "journal.sqlite"))
    assert check.ok and check.ended_with_stop, check
    by_origin = {f.flow.src: f for f in journal_flows(home) if f.flow.dport == 5432}
    assert set(by_origin) == {ASHBURN, SINGAPORE, FRANKFURT}
    expect = {ASHBURN: ("allowed", "oracle-us-staff"), SINGAPORE: ("access-violation", None),
              FRANKFURT: ("exempt", "frankfurt-audit")}  # fmt: skip
    for origin, (verdict, rule) in expect.items():
        row = by_origin[origin]
        assert row.verdict["scope"] == "access" and row.verdict["verdict"] == verdict, row.verdict
        assert (row.verdict["rule"] or {}).get("name") == rule
        assert row.verdict["service"]["name"] == "us-user-db"
        assert row.flow.direction == "syn" and row.flow.dst == "10.20.0.15"
        assert row.process is not None and row.process.pid == service.pid, row.process
        assert row.process.name.startswith("python")
        assert row.flow.bytes_rev >= ANSWER  # the answer, with its IP and TCP headers
    assert by_origin[SINGAPORE].verdict["answer"]["region"] == "ap-singapore-1"
    alerts = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    access = [a for a in alerts if a["event"] == "access-violation"]
    assert [(a["src"], a["service"], a["process"]["pid"]) for a in access] == [
        (SINGAPORE, "us-user-db", service.pid)]  # fmt: skip
    assert access[0]["bytes_out"] == by_origin[SINGAPORE].flow.bytes_rev

    journal = str(home / "data" / "journal.sqlite")
    judged = CliRunner().invoke(main, ["analyze", "--journal", journal, "--policy",
                                       str(home / "policy.yaml"), "--json"],
                                env={"RESIDENCY_HOME": str(home / "home")})  # fmt: skip
    doc = json.loads(judged.stdout)
    assert judged.exit_code == 1
    (bad,) = doc["access"]["violations"]
    assert bad["address"] == SINGAPORE and bad["sessions"] == 1
    assert bad["bytes_out"] == by_origin[SINGAPORE].flow.bytes_rev
    assert bad["processes"] == [f"{by_origin[SINGAPORE].process.name} (pid {service.pid}, root)"]
    assert doc["access"]["headline"]["allowed"]["sessions"] == 1
    assert doc["access"]["headline"]["exempt"]["sessions"] == 1


def test_kill_9_loses_no_committed_access_row(home: Path) -> None:
    """The same kill -9 rounds with loopback connections into a protected service: every
    access row committed before a kill is still there after it."""
    if os.geteuid() != 0:
        pytest.skip("live capture needs root (CAP_NET_RAW)")
    rng = random.Random(20261203)
    listener = listening()
    port = listener.getsockname()[1]
    (home / "policy.yaml").write_text(POLICY + f"""\
access:
  protect:
    - name: loopback-service
      networks: [127.0.0.1]
      ports: [{port}]
  allow:
    - name: this-host
      networks: [127.0.0.0/8]
""")
    kill_rounds(home, listener, 3, rng)
    kinds = {(f.verdict["scope"], f.verdict["verdict"]) for f in journal_flows(home)}
    assert kinds == {("access", "allowed")}, kinds


FAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")
"""libfaketime (Debian's faketime package): the daemon's clock two days on, its packets' not."""
LAKE_SETTINGS = {"active_timeout": 5, "lake_delay": 10}
"""Short timeouts, so a short delay past midnight is enough for the flows begun before it."""


def _kill_with_children(proc: subprocess.Popen[str]) -> None:
    """kill -9 the daemon and its sealing child at once, as systemd kills a unit's cgroup."""
    import psutil

    family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    for p in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    stop(proc)


def test_the_daemon_seals_each_closed_day_once(home: Path, namespaces: tuple[str, str]) -> None:
    """Run 1 judges real traffic between the namespaces today, its lake configured: no day has
    closed, nothing is sealed. Run 2 starts two days later by the daemon's clock: today has
    closed, and the daemon seals it by itself; killed with -9 at random moments (with its
    sealing child) and restarted, it leaves the day unsealed or sealed whole, and seals it
    once. The sealed day is byte for byte what `lake seal` makes of the journal by hand, and
    the fleet report of the lake counts what `analyze --journal` counts."""
    if not FAKETIME.exists():
        pytest.skip(f"needs libfaketime at {FAKETIME} (apt-get install faketime; CI has it)")
    from agent.report.sign import generate
    from tests.fleet.compare import analyzed, counted

    near, far = namespaces
    host = socket.gethostname()
    private, public = generate(host)
    (home / "data").mkdir()
    (home / "data" / "lake.key").write_bytes(private)
    (home / "fleet.keys").write_bytes(public)
    lake = home / "lake"
    more = {**LAKE_SETTINGS, "lake": str(lake)}
    server = peer(far, "serve", "10.20.0.2", f"api.us.app.example={ASHBURN}",
                  f"backup.sg.app.example={SINGAPORE}")  # fmt: skip
    assert server.stdout and server.stdout.readline().strip() == "ready"
    daemon = start_daemon(home, near, "va", idle=1, more=more)
    client: subprocess.Popen[str] | None = None
    try:
        said = until_said(daemon, "no closed day left to seal")
        before = crossed(near, "va")
        client = peer(near, "client", "10.20.0.2", "api.us.app.example", "backup.sg.app.example",
                      "--udp", SINGAPORE, "--hold", "1.5")  # fmt: skip
        assert client.stdout and client.stdout.readline().strip() == "done"
        ended(client)
        until_captured(home, crossed(near, "va") - before)
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=PATIENCE)
    finally:
        for proc in (daemon, server, client):
            stop(proc)
    assert daemon.returncode == 0, said + err
    assert not lake.exists() or not list(lake.rglob("manifest.json"))
    journal = str(home / "data" / "journal.sqlite")
    day = time.strftime("%Y-%m-%d", time.gmtime(journal_flows(home)[0].flow.first_ns / 1e9))
    flows = len(journal_flows(home))
    assert flows >= 4

    later = {"LD_PRELOAD": str(FAKETIME), "FAKETIME": "+2d", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    rng = random.Random(20261204)
    for _ in range(2):
        daemon = start_daemon(home, None, "lo", bpf="tcp port 9", idle=1, more=more, env=later)
        time.sleep(rng.uniform(0.1, 3.0))  # a random moment to kill at, not a wait
        _kill_with_children(daemon)
        manifests = list(lake.rglob("manifest.json")) if lake.exists() else []
        assert [json.loads(m.read_bytes())["date"] for m in manifests] in ([], [day])
    daemon = start_daemon(home, None, "lo", bpf="tcp port 9", idle=1, more=more, env=later)
    try:
        said = until_said(daemon, "to seal" if manifests else "flows sealed")
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=PATIENCE)
    finally:
        stop(daemon)
    assert daemon.returncode == 0 and "error" not in said + err, said + err
    if not manifests:
        assert f"{host} {day}: {flows} flows sealed" in said, said

    env = {"RESIDENCY_HOME": str(home / "home")}
    by_hand = CliRunner().invoke(main, ["lake", "seal", "--journal", journal, "--lake", str(lake),
                                        "--key", str(home / "data" / "lake.key")], env=env)
    assert by_hand.stdout == f"{host} {day}: {flows} flows already sealed, unchanged\n", (
        by_hand.stdout + by_hand.stderr)  # fmt: skip
    out = home / "fleet.json"
    policy = str(home / "policy.yaml")
    report = CliRunner().invoke(main, ["fleet", "report", str(lake), "--policy", policy,
                                       "--host-keys", str(home / "fleet.keys"), "--out",
                                       str(out)], env=env)  # fmt: skip
    assert report.exit_code == 0, report.stderr
    doc = json.loads(out.read_bytes())
    assert doc["headline"]["host_days"] == 1 and doc["coverage"]["not_counted"] == []
    assert counted(doc) == analyzed([journal], policy, env)
    places = {(r["verdict"], r["region"]) for r in doc["breakdown"]}
    assert {("approved", "us-ashburn-1"), ("violation", "ap-singapore-1")} <= places, places
    assert doc["headline"]["violation"]["flows"] >= 2  # TLS and UDP to Singapore
