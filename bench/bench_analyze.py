"""Benchmark `residency analyze --json` (the real range files, a policy) beside `residency flows
--json`, the dpkt loop, tshark and tcpdump on one generated capture.

Why this shape: `analyze` does what `flows` does and then hashes the capture, looks every
destination up in the providers' real ranges, judges each flow by a policy and writes the
analysis document; the references say what reading and accounting the same packets costs
elsewhere. Each tool is a child process, timed whole (interpreter start included): wall clock,
CPU time (user + system of all its threads, from wait4: the steadier figure on a shared
machine) and peak RSS. residency's two commands take turns, --repeat times each after one
untimed run of each (which compiles the range table into the store's cache, as the first
analysis after an import does); the references run --ref-repeat times. Medians are quoted, and
ratios to `analyze` by CPU time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass, field

from bench_flows import BENCH, ROOT, capture, child, compile_bytecode, residency_cmd

POLICY = BENCH / "analyze-policy.yaml"
RANGES = ROOT.parent / "shared" / "ranges"


@dataclass
class Timed:
    tool: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss_mb: float = 0.0

    def add(self, seconds: float, usage: os.struct_rusage) -> None:
        self.wall.append(seconds)
        self.cpu.append(usage.ru_utime + usage.ru_stime)
        self.rss_mb = max(self.rss_mb, usage.ru_maxrss / 1024)  # KiB


def store_env() -> dict[str, str]:
    """A scratch store holding the real range files and rules/sites.yaml."""
    env = {**os.environ, "RESIDENCY_HOME": tempfile.mkdtemp(prefix="bench-analyze-")}
    residency = residency_cmd() or []
    for f in [*sorted(RANGES.glob("*.json")), ROOT / "rules" / "sites.yaml"]:
        child([*residency, "ranges", "import", str(f)], env=env)
    return env


def take_turns(
    cmds: dict[str, list[str]], repeat: int, env: dict[str, str], warm: bool
) -> list[Timed]:
    """Each command `repeat` times, taking turns (after one untimed run each, if `warm`), so a
    change in the machine's load falls on all alike; exit 1 is analyze's "violations found"."""
    timed = {name: Timed(name) for name in cmds}
    for k in range(repeat + warm):
        for name, cmd in cmds.items():
            seconds, usage = child(cmd, env=env, ok=(0, 1))
            if k or not warm:
                timed[name].add(seconds, usage)
                print(f"  {name:34} {seconds:7.2f} s {timed[name].cpu[-1]:6.2f} s CPU "
                      f"{timed[name].rss_mb:5.0f} MB", flush=True)  # fmt: skip
    return list(timed.values())


def table(results: list[Timed], packets: int) -> str:
    base = statistics.median(results[0].cpu)
    head = ("tool", "median s", "CPU s", "packets/CPU s", "peak RSS MB", "CPU x analyze")
    rows = [head]
    for r in results:
        cpu = statistics.median(r.cpu)
        rows.append((r.tool, f"{statistics.median(r.wall):.2f}", f"{cpu:.2f}",
                     f"{packets / cpu:,.0f}", f"{r.rss_mb:.0f}", f"{cpu / base:.2f}"))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(row, widths, strict=True)))
             for row in rows]  # fmt: skip
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--format", choices=("pcap", "pcapng"), default="pcap")
    ap.add_argument("--repeat", type=int, default=5, help="runs of each residency command")
    ap.add_argument("--ref-repeat", type=int, default=1, help="runs of each reference")
    ap.add_argument("--skip-tshark", action="store_true")
    ap.add_argument("--skip-dpkt", action="store_true")
    ap.add_argument("--skip-tcpdump", action="store_true")
    args = ap.parse_args()
    residency = residency_cmd()
    if residency is None or not RANGES.is_dir():
        sys.exit(f"needs `residency` and the real range files in {RANGES}")
    path = capture(args.packets, regenerate=False)[args.format]
    compile_bytecode()
    env = store_env()
    print(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1e6:,.0f} MB", flush=True)
    ours = {
        "residency analyze --json": [*residency, "analyze", "--json", "--policy", str(POLICY),
                                     str(path)],
        "residency flows --json": [*residency, "flows", "--json", str(path)],
    }  # fmt: skip
    results = take_turns(ours, args.repeat, env, warm=True)
    refs = {}
    if not args.skip_dpkt:
        refs["dpkt loop"] = [sys.executable, str(BENCH / "dpkt_flows.py"), str(path)]
    tshark, tcpdump = shutil.which("tshark"), shutil.which("tcpdump")
    if tshark and not args.skip_tshark:
        refs["tshark conv"] = [tshark, "-q", "-n", "-r", str(path), "-z", "conv,tcp", "-z",
                               "conv,udp"]  # fmt: skip
    if tcpdump and not args.skip_tcpdump:  # reading and writing records: a floor
        refs["tcpdump -r -w /dev/null"] = [tcpdump, "-r", str(path), "-w", "/dev/null"]
    results += take_turns(refs, args.ref_repeat, env, warm=False)
    print(f"\n{path.name}, {args.packets:,} packets; residency: median of {args.repeat}, "
          f"references of {args.ref_repeat}; load average {os.getloadavg()[0]:.1f} (1 min) "
          "at the end")  # fmt: skip
    print(table(results, args.packets))


if __name__ == "__main__":
    main()
