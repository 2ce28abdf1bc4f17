"""Benchmark the running daemon: its CPU and memory while it watches 1,000 open connections
(phase A) and while it captures a UDP stream of 50,000 and 100,000 packets/s (phase B), with
the kernel's drop counts; references measured in the same run.

Where: two network namespaces joined by a veth pair (made here, always removed), so the stream
shares no interface with other work: `residency daemon` runs in the near namespace and captures
its end, `va`; the generator sends Ethernet frames out of `va` through an AF_PACKET socket by
sendmmsg (the kernel copies each frame into the capture ring in the sender's time, for the
daemon and tcpdump alike). Each measured process and the generator run boosted (--boost), so
a machine busy with other work does not starve them. With --lo, or where `ip netns` fails,
everything runs on `lo` instead.

CPU is utime + stime of all a process's threads (/proc/PID/stat) over a window, in % of one
core; memory is VmRSS and VmHWM (/proc/PID/status). Medians over --repeat windows or trials.
The kernels are compiled when the package is built, so the first start is timed like the
others (it may read the files from disk rather than the page cache).
A: the daemon with no connections, then with 1,000 established loopback TCP sockets held idle
   (poll_interval 1 s; budget: under 2% of one core). Reference, over the same windows: a loop
   calling psutil.net_connections() once a second, in the same namespace.
B: per trial a new stream of --warm + --window-b seconds; CPU over the window, drops over the
   whole stream (the daemon's metrics before and after). Frames are full-size by default: the
   ring then holds the fewest packets (~22,000, 0.2 s at 100,000/s), so a stall shows as drops.
   Each flow gets --flow-packets packets, so flows start, and end after --idle-timeout, at
   rate / flow-packets per second: the flow table, the judge and the journal all work.
   Reference: `tcpdump -w /dev/null` with the same ring size (32 MiB), the daemon stopped;
   without tcpdump, a Python AF_PACKET recv loop.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from pcaps.frames import ETH_IPV4, IPPROTO_UDP, ethernet, udp  # noqa: E402
from pcaps.frames import ip as ip_packet  # noqa: E402  (ip() runs the ip command)

RESIDENCY = Path(sys.executable).with_name("residency")
"""The residency beside the Python running the bench (.venv/bin/python: .venv/bin/residency)."""
CLK_TCK = os.sysconf("SC_CLK_TCK")
CLONE_NEWNET = 0x40000000
NEAR_ADDRESS = "10.20.0.15"
DESTINATIONS = (
    [f"192.0.2.{i}" for i in range(1, 17)]
    + [f"192.0.2.{i}" for i in range(65, 73)]
    + [f"198.51.100.{i}" for i in range(1, 8)]
    + ["203.0.113.5", "192.0.2.100"]
)
"""33 addresses: approved (OCI us-ashburn-1 and us-phoenix-1, the Virginia site), exempt (the
Singapore site) and, one flow in 33, a violation (OCI eu-frankfurt-1), which the daemon prints as
an alert. Flow f goes from port 1024 + f % 64,000 to address f % 33: no 5-tuple repeats."""
RING_KIB = 32 * 1024
"""The daemon's ring (agent/capture/live.py: 32 blocks of 1 MiB); tcpdump gets the same."""


# -- the place: a namespace pair with a veth, or lo ------------------------------------------


@dataclass(frozen=True)
class Site:
    ns: str | None
    """The near namespace (the daemon's); None: the root namespace, on lo."""
    interface: str

    def argv(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.ns, *argv] if self.ns else list(argv)


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def make_pair(near: str, far: str, made: list[str]) -> None:
    """Namespaces `near` and `far` (listed in `made` once they exist), joined by veth va - vb."""
    for ns in (near, far):
        ip("netns", "add", ns)
        made.append(ns)
    ip(*f"link add va netns {near} type veth peer name vb netns {far}".split())
    ip("-n", near, "addr", "add", f"{NEAR_ADDRESS}/24", "dev", "va")
    for ns, dev in ((near, "va"), (far, "vb"), (near, "lo")):
        ip("-n", ns, "link", "set", dev, "up")


@contextmanager
def site(force_lo: bool) -> Iterator[Site]:
    """Two namespaces and a veth pair between them, removed afterwards whatever happens."""
    near, far = f"rzbn{os.getpid()}", f"rzbf{os.getpid()}"
    made: list[str] = []
    try:
        try:
            if not force_lo:
                make_pair(near, far, made)
        except (OSError, subprocess.CalledProcessError) as err:
            print(f"no namespaces ({err}); capturing on lo", flush=True)
            force_lo = True
        yield Site(None, "lo") if force_lo else Site(near, "va")
    finally:
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@contextmanager
def entered(ns: str | None) -> Iterator[None]:
    """Run this thread in namespace `ns` meanwhile (sockets made then stay there); Python 3.11
    has no os.setns."""
    if ns is None:
        yield
        return
    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    there = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if libc.setns(there, CLONE_NEWNET):
            raise OSError(ctypes.get_errno(), f"setns {ns}")
        yield
    finally:
        libc.setns(home, CLONE_NEWNET)
        os.close(home)
        os.close(there)


# -- processes and what they cost ------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of every thread of `pid` (fields 14 and 15 of /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS, VmHWM (peak RSS) and RssAnon, in MB."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = dict(line.split(":", 1) for line in lines)
    return {k: int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM", "RssAnon")}


def window(pids: list[int], seconds: float) -> list[float]:
    """Each process's CPU over the next `seconds`, in % of one core."""
    before, start = [cpu_seconds(p) for p in pids], time.perf_counter()
    time.sleep(seconds)
    elapsed = time.perf_counter() - start
    return [100 * (cpu_seconds(p) - b) / elapsed for p, b in zip(pids, before, strict=True)]


class Children:
    """Child processes; each is stopped (SIGTERM, then SIGKILL) when the bench ends, however."""

    def __init__(self, stack: ExitStack, tmp: Path) -> None:
        self.stack, self.tmp = stack, tmp
        self.procs: list[subprocess.Popen[str]] = []
        stack.callback(self.stop_all)

    def start(self, name: str, argv: list[str], boost: int = 0, **kw: Any
              ) -> subprocess.Popen[str]:  # fmt: skip
        """Start `argv`, its stderr to a file named for it (see `tail`). With `boost`, in a
        session of its own whose scheduling group runs at nice -boost: on a machine busy with
        other work (the kernel shares the CPU between sessions' groups first) the process then
        gets the CPU it asks for, so the figures are its own, not the load's."""
        err = self.stack.enter_context((self.tmp / f"{name}.err").open("w"))
        kw.setdefault("stdout", subprocess.DEVNULL)
        proc = subprocess.Popen(argv, stderr=err, text=True, cwd=ROOT,
                                start_new_session=bool(boost), **kw)  # fmt: skip
        self.procs.append(proc)
        if boost:
            Path(f"/proc/{proc.pid}/autogroup").write_text(str(-boost))
        return proc

    def stop(self, proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> None:
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe:
                pipe.close()

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            self.stop(proc)

    def tail(self, name: str) -> str:
        return (self.tmp / f"{name}.err").read_text(errors="replace")[-2000:]


def own(*args: str) -> list[str]:
    """This file, run as one of its helper roles (at the end)."""
    return [sys.executable, str(Path(__file__).resolve()), *args]


# -- the daemon ------------------------------------------------------------------------------


def prepare(tmp: Path, where: Site, idle_timeout: float) -> Path:
    """A ranges store of the demo world, and the daemon's configuration; -> the config file."""
    home = tmp / "home"
    files = sorted(str(p) for p in (ROOT / "pcaps" / "demo-world").glob("demo-*"))
    subprocess.run(
        [str(RESIDENCY), "ranges", "import", *files, str(ROOT / "rules/sites.yaml")],
        check=True,
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "RESIDENCY_HOME": str(home)},
    )
    with entered(where.ns), socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp / "agent.yaml"
    config.write_text(
        json.dumps(
            {
                "policy": str(ROOT / "rules/policy.yaml"),
                "interfaces": [where.interface],
                "data_dir": str(tmp / "data"),
                "ranges_home": str(home),
                "poll_interval": 1.0,
                "idle_timeout": idle_timeout,
                "metrics": f"127.0.0.1:{port}",
            }
        )
    )
    return config


@dataclass
class Daemon:
    proc: subprocess.Popen[str]
    where: Site
    metrics: str
    """host:port of /metrics, in the daemon's namespace."""
    ready: tuple[float, float]
    """Seconds from start to READY=1, and CPU seconds spent by then."""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def scrape(self) -> dict[str, float]:
        """/metrics, each name summed over its labels."""
        url = f"http://{self.metrics}/metrics"
        with entered(self.where.ns), urllib.request.urlopen(url, timeout=5) as reply:
            text = reply.read().decode()
        out: dict[str, float] = {}
        for m in re.finditer(r"^(\w+)(?:\{[^}]*\})? (\S+)$", text, re.M):
            out[m[1]] = out.get(m[1], 0.0) + float(m[2])
        return out


def start_daemon(children: Children, config: Path, where: Site, args: argparse.Namespace
                 ) -> Daemon:  # fmt: skip
    """`residency daemon`, once it has told READY=1 (a first start may compile: be patient)."""
    notify = children.tmp / "notify.sock"
    notify.unlink(missing_ok=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(notify))
        listener.settimeout(1)
        out = children.stack.enter_context((children.tmp / "daemon.out").open("a"))
        env = {**os.environ, "NOTIFY_SOCKET": str(notify), "PYTHONUNBUFFERED": "1"}
        argv = where.argv(str(RESIDENCY), "daemon", "--config", str(config))
        start = time.perf_counter()
        proc = children.start("daemon", argv, args.boost, env=env, stdout=out)
        while time.perf_counter() - start < 300 and proc.poll() is None:
            try:
                if listener.recv(64) != b"READY=1":
                    continue
            except TimeoutError:
                continue
            ready = (time.perf_counter() - start, cpu_seconds(proc.pid))
            print(
                f"daemon ready in {ready[0]:.1f} s ({ready[1]:.1f} s CPU), RSS "
                f"{memory_mb(proc.pid)['VmRSS']:.0f} MB",
                flush=True,
            )
            return Daemon(proc, where, json.loads(config.read_text())["metrics"], ready)
    raise SystemExit(f"the daemon did not become ready:\n{children.tail('daemon')}")


# -- phase A: connections --------------------------------------------------------------------


@dataclass
class PhaseA:
    idle: list[tuple[float, float]]
    """(daemon, psutil loop) CPU % per window, with no connections open."""
    busy: list[tuple[float, float]]
    """The same with the connections open."""
    rss_idle: dict[str, float]
    rss: dict[str, float]
    seen: float
    """Connections in the daemon's table (its metric)."""


def phase_a(children: Children, daemon: Daemon, args: argparse.Namespace) -> PhaseA:
    ref = children.start("psutil-loop", daemon.where.argv(*own("psutil-loop")), args.boost)
    time.sleep(args.settle)
    idle = [log_window("no connections", daemon, ref, args) for _ in range(args.repeat)]
    rss_idle = memory_mb(daemon.pid)
    argv = daemon.where.argv(*own("hold", str(args.connections)))
    holder = children.start("hold", argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    if holder.stdout is None or holder.stdout.readline().strip() != "ready":
        raise SystemExit(f"the connection holder failed:\n{children.tail('hold')}")
    time.sleep(3.5)  # three polls: the first one after the sockets opened looks each one up
    what = f"{args.connections:,} connections"
    busy = [log_window(what, daemon, ref, args) for _ in range(args.repeat)]
    seen = daemon.scrape().get("residency_connections", 0.0)
    rss = memory_mb(daemon.pid)
    children.stop(holder)
    children.stop(ref)
    return PhaseA(idle, busy, rss_idle, rss, seen)


def log_window(
    what: str, daemon: Daemon, ref: subprocess.Popen[str], args: argparse.Namespace
) -> tuple[float, float]:
    mine, theirs = window([daemon.pid, ref.pid], args.window_a)
    print(f"  A {what}: daemon {mine:.2f}%, psutil loop {theirs:.2f}% of a core", flush=True)
    return mine, theirs


# -- phase B: packets ------------------------------------------------------------------------


@dataclass
class Trial:
    tool: str
    rate: int
    """Packets/s wanted."""
    achieved: float = 0.0
    """Packets/s the generator reached."""
    sent: int = 0
    started: int = 0
    """Flows the stream started."""
    cpu: float = 0.0
    seen: int = 0
    """Packets the kernel offered the socket (its counter counts the dropped ones too)."""
    drops: int = 0
    rss: float = 0.0
    flows: int = 0
    """Flows the daemon judged."""


def stream(children: Children, where: Site, t: Trial, args: argparse.Namespace, pid: int) -> Trial:
    """Send one stream; fill in what was sent and the CPU of `pid` over the window."""
    seconds = args.warm + args.window_b + 0.3
    knobs = (t.rate, seconds, args.flow_packets, args.payload)
    argv = own("generate", where.interface, *map(str, knobs))
    gen = children.start("generate", where.argv(*argv), args.boost, stdout=subprocess.PIPE)
    if gen.stdout is None or gen.stdout.readline().strip() != "start":
        raise SystemExit(f"the generator failed:\n{children.tail('generate')}")
    time.sleep(args.warm)
    t.cpu = window([pid], args.window_b)[0]
    result = json.loads(gen.stdout.readline())
    children.stop(gen)
    t.sent, t.started = result["sent"], result["flows"]
    t.achieved = t.sent / result["seconds"]
    return t


def daemon_trial(children: Children, daemon: Daemon, rate: int, args: argparse.Namespace) -> Trial:
    before = daemon.scrape()
    t = stream(children, daemon.where, Trial("daemon", rate), args, daemon.pid)
    time.sleep(args.idle_timeout + 1.5)  # the last flows end; counts are published once a second
    if daemon.proc.poll() is not None:
        raise SystemExit(f"the daemon exited {daemon.proc.returncode}:\n{children.tail('daemon')}")
    after = daemon.scrape()
    delta = {k: round(v - before.get(k, 0.0)) for k, v in after.items()}
    t.seen, t.drops = (
        delta["residency_capture_packets_total"],
        delta["residency_capture_drops_total"],
    )
    t.flows, t.rss = delta.get("residency_flows_total", 0), memory_mb(daemon.pid)["VmRSS"]
    return t


TCPDUMP_STATS = re.compile(r"(\d+) packets? (captured|received by filter|dropped by kernel)")


def reference_trial(children: Children, where: Site, rate: int, args: argparse.Namespace) -> Trial:
    tcpdump = shutil.which("tcpdump")
    argv = own("count", where.interface)
    if tcpdump:
        argv = [tcpdump, "-i", where.interface, "-n", "-B", str(RING_KIB), "-w", "/dev/null"]
        if where.interface == "lo":
            argv[3:3] = ["-Q", "in"]  # lo shows each packet twice; keep one, as the daemon does
    proc = children.start("reference", where.argv(*argv), args.boost)
    deadline = time.perf_counter() + 10
    while "listening" not in children.tail("reference") and time.perf_counter() < deadline:
        time.sleep(0.05)
    t = stream(children, where, Trial("tcpdump" if tcpdump else "recv loop", rate), args, proc.pid)
    time.sleep(0.5)
    children.stop(proc, signal.SIGINT)
    counts = {kind: int(n) for n, kind in TCPDUMP_STATS.findall(children.tail("reference"))}
    t.seen, t.drops = counts.get("received by filter", -1), counts.get("dropped by kernel", -1)
    return t


def log_trial(t: Trial) -> Trial:
    extra = f", RSS {t.rss:.0f} MB, judged {t.flows:,} of {t.started:,} flows" * (
        t.tool == "daemon"
    )
    print(
        f"  B {t.tool:9} {t.rate:>7,} pps: sent {t.achieved:,.0f}/s, CPU {t.cpu:.1f}%, "
        f"seen {t.seen:,}, drops {t.drops:,}{extra}",
        flush=True,
    )
    return t


# -- the report ------------------------------------------------------------------------------


def med(xs: list[float] | list[int]) -> float:
    return statistics.median(xs)


def ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b > 0 else "n/a"


def start_lines(starts: list[Daemon], args: argparse.Namespace, where: Site) -> list[str]:
    place = f"veth {where.interface} in namespace {where.ns}" if where.ns else "lo"
    (first_s, first_cpu), later = starts[0].ready, [d.ready for d in starts[1:]]
    return [
        f"`residency daemon` capturing {place}, poll_interval 1 s; medians of {args.repeat}",
        f"start: READY after {first_s:.2f} s ({first_cpu:.2f} s CPU) the first time, "
        f"then {med([r[0] for r in later]):.2f} s ({med([r[1] for r in later]):.2f} s CPU)",
    ]


def a_lines(a: PhaseA, args: argparse.Namespace) -> list[str]:
    busy, ref = med([w[0] for w in a.busy]), med([w[1] for w in a.busy])
    idle, ref_idle = med([w[0] for w in a.idle]), med([w[1] for w in a.idle])
    met = "met" if busy < 2 else "MISSED"
    return [
        f"A  {args.connections:,} connections ({a.seen:.0f} in the daemon's table), "
        f"{args.window_a:g} s windows:",
        f"   daemon {busy:.2f}% of one core (budget 2%: {met}); no connections {idle:.2f}%",
        f"   psutil.net_connections() once a second: {ref:.2f}% (no connections "
        f"{ref_idle:.2f}%): {ratio(ref, busy)} the daemon's CPU",
        f"   daemon RSS {a.rss['VmRSS']:.0f} MB (anonymous {a.rss['RssAnon']:.0f}), peak "
        f"{a.rss['VmHWM']:.0f} MB; {a.rss_idle['VmRSS']:.0f} MB before the connections",
    ]


def b_lines(trials: list[Trial], args: argparse.Namespace) -> list[str]:
    head = (
        f"B  UDP in {args.payload + 42}-byte frames, {args.flow_packets} packets a flow, "
        f"idle_timeout {args.idle_timeout:g} s; CPU over {args.window_b:g} s after {args.warm:g} s "
        "of warm-up, drops over the whole stream"
    )
    return [head, *(line for rate in args.rates for line in rate_lines(rate, trials, args))]


def rate_lines(rate: int, trials: list[Trial], args: argparse.Namespace) -> list[str]:
    d = [t for t in trials if t.rate == rate and t.tool == "daemon"]
    r = [t for t in trials if t.rate == rate and t.tool != "daemon"]
    out = [
        f"   {rate:>7,} pps wanted, {med([t.achieved for t in d + r]):,.0f} sent, "
        f"{rate // args.flow_packets:,} new flows/s:"
    ]
    for ts in (d, r):
        if ts:
            drops = med([t.drops for t in ts])
            share = med([t.drops / t.sent * 100 for t in ts])
            out.append(
                f"     {ts[0].tool:9} CPU {med([t.cpu for t in ts]):5.1f}%  drops {drops:,.0f} "
                f"({share:.2f}%) of {med([t.sent for t in ts]):,.0f} sent"
            )
    if d:
        judged = med([t.flows / t.started * 100 for t in d])
        rss = f"RSS {med([t.rss for t in d]):.0f} MB (max {max(t.rss for t in d):.0f})"
        out[1] += f"  {rss}, {judged:.0f}% of flows judged"
    if d and r:
        cpu = ratio(med([t.cpu for t in d]), med([t.cpu for t in r]))
        out.append(f"     daemon CPU / {r[0].tool} CPU: {cpu}")
    return out


# -- main ------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--connections", type=int, default=1000, help="sockets held (2 per pair)")
    ap.add_argument("--rates", type=rates, default=[50_000, 100_000], help="packets/s: 50000,...")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--window-a", type=float, default=10.0, help="seconds per CPU window")
    ap.add_argument("--window-b", type=float, default=10.0, help="seconds per CPU window")
    ap.add_argument("--warm", type=float, default=3.0, help="seconds of stream before measuring")
    ap.add_argument("--settle", type=float, default=3.0, help="seconds after READY")
    ap.add_argument("--flow-packets", type=int, default=20)
    ap.add_argument("--idle-timeout", type=float, default=2.0)
    ap.add_argument("--payload", type=int, default=1400, help="UDP payload bytes (frame: +42)")
    ap.add_argument("--boost", type=int, default=10,
                    help="the daemon, generator and references: their groups at nice -N")
    ap.add_argument("--phases", choices=("AB", "A", "B"), default="AB")
    ap.add_argument("--lo", action="store_true", help="capture on lo, without namespaces")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that clean-up runs
    started = time.perf_counter()
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rzbench-")))
        where = stack.enter_context(site(args.lo))
        children = Children(stack, tmp)
        config = prepare(tmp, where, args.idle_timeout)
        starts = [start_daemon(children, config, where, args)]  # primes the cache
        children.stop(starts[0].proc)
        lines = []
        if "A" in args.phases:
            starts.append(start_daemon(children, config, where, args))
            lines += a_lines(phase_a(children, starts[-1], args), args)
            children.stop(starts[-1].proc)
        if "B" in args.phases:
            lines += b_lines(phase_b(children, config, where, args, starts), args)
    print("\n== summary ==", *start_lines(starts, args, where), *lines, sep="\n")
    print(f"({time.perf_counter() - started:.0f} s)")


def rates(text: str) -> list[int]:
    return [int(x) for x in text.split(",")]


def phase_b(
    children: Children, config: Path, where: Site, args: argparse.Namespace, starts: list[Daemon]
) -> list[Trial]:
    """Per repeat: a new daemon through every rate, then the reference through every rate."""
    trials = []
    for _ in range(args.repeat):
        daemon = start_daemon(children, config, where, args)
        starts.append(daemon)
        time.sleep(args.settle)
        trials += [log_trial(daemon_trial(children, daemon, r, args)) for r in args.rates]
        children.stop(daemon.proc)
        trials += [log_trial(reference_trial(children, where, r, args)) for r in args.rates]
    return trials


# -- helper roles, run in the near namespace -------------------------------------------------


def hold(n: int) -> None:
    """Open n/2 established loopback TCP pairs, say so, and keep them until stdin closes."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 256:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n + 256, hard), hard))
    listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
    ends = []
    for _ in range(n // 2):
        ends += [socket.create_connection(listener.getsockname()), listener.accept()[0]]
    print("ready", flush=True)
    sys.stdin.read()


def psutil_loop() -> None:
    import psutil

    tick = time.perf_counter()
    while True:
        psutil.net_connections(kind="inet")
        tick += 1.0
        time.sleep(max(0.0, tick - time.perf_counter()))


def frame(src_mac: bytes, sport: int, dst: str, size: int) -> bytes:
    """Ethernet, IPv4 and UDP to dst:443 with `size` bytes that look like QUIC (short header)."""
    payload = (b"\x40" + bytes(range(256)) * 6)[:size]
    near, far = ip_address(NEAR_ADDRESS), ip_address(dst)
    packet = ip_packet(near, far, IPPROTO_UDP, udp(sport, 443, payload), ident=sport)
    return ethernet(b"\x02\x00\x00\x00\x00\x02", src_mac, ETH_IPV4, packet)


class IOVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class MsgHdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                ("iov", ctypes.POINTER(IOVec)), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]  # fmt: skip


class MMsgHdr(ctypes.Structure):
    """struct mmsghdr: one message of a sendmmsg(2) call."""

    _fields_ = [("hdr", MsgHdr), ("len", ctypes.c_uint)]


def generate(
    interface: str, rate: int, seconds: float, per_flow: int, size: int, live: int = 1000
) -> None:
    """Send `rate` packets/s for `seconds`: `live` flows at a time, interleaved, each getting
    `per_flow` packets before the next `live` flows take over. Prints what was sent.

    The frames are built before the clock starts and sent with sendmmsg(2), up to `live` a
    call: one send() a packet cost the generator more than a core's share on a busy machine,
    and it could not reach 100,000/s."""
    mac = Path(f"/sys/class/net/{interface}/address").read_text().strip().replace(":", "")
    count = int(rate * seconds / per_flow) + live
    frames = [
        frame(bytes.fromhex(mac), 1024 + f % 64_000, DESTINATIONS[f % len(DESTINATIONS)], size)
        for f in range(count)
    ]
    data = ctypes.create_string_buffer(b"".join(frames))
    vecs = (IOVec * count)()
    msgs = (MMsgHdr * count)()
    base, length = ctypes.addressof(data), len(frames[0])
    for f in range(count):
        vecs[f].base, vecs[f].len = base + f * length, length
        msgs[f].hdr.iov, msgs[f].hdr.iovlen = ctypes.pointer(vecs[f]), 1
    del frames
    libc = ctypes.CDLL(None, use_errno=True)
    sendmmsg, one = libc.sendmmsg, ctypes.sizeof(MMsgHdr)
    sendmmsg.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((interface, 0))
    fd, first, sent, failed = sock.fileno(), ctypes.addressof(msgs), 0, 0
    print("start", flush=True)
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        due = min(int(rate * elapsed), sent + 10_000)
        while sent < due:
            group, k = divmod(sent, live * per_flow)
            at = k % live
            n = sendmmsg(fd, first + (group * live + at) * one, min(due - sent, live - at), 0)
            if n < 0:  # this frame was refused (ENOBUFS): go on with the next
                failed, n = failed + 1, 1
            sent += n
        time.sleep(0.0002)
    group, k = divmod(sent - 1, live * per_flow)
    flows = group * live + min(live, k + 1)
    seconds = time.perf_counter() - start
    print(json.dumps({"sent": sent - failed, "seconds": seconds, "flows": flows}), flush=True)


def count(interface: str) -> None:
    """The reference without tcpdump: recv() and count; on SIGINT, tcpdump's three lines."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RING_KIB * 1024)
    sock.bind((interface, 0))
    print("listening", file=sys.stderr, flush=True)
    n = 0
    try:
        while True:
            sock.recv(65536)
            n += 1
    except KeyboardInterrupt:
        packets, drops = struct.unpack("<II", sock.getsockopt(263, 6, 8))  # PACKET_STATISTICS
        print(
            f"{n} packets captured\n{packets} packets received by filter\n"
            f"{drops} packets dropped by kernel",
            file=sys.stderr,
            flush=True,
        )


ROLES = {
    "hold": lambda a: hold(int(a[0])),
    "psutil-loop": lambda a: psutil_loop(),
    "generate": lambda a: generate(a[0], int(a[1]), float(a[2]), int(a[3]), int(a[4])),
    "count": lambda a: count(a[0]),
}

if __name__ == "__main__":
    if sys.argv[1:2] and sys.argv[1] in ROLES:
        ROLES[sys.argv[1]](sys.argv[2:])
    else:
        main()
