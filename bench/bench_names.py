"""Benchmark what reading names costs: `residency flows --json` against `--no-names`, one run.

Why this shape: the requirement is that names cost less than 30% of the time of `residency
flows`, so the reference is the same command without them, on the same generated capture, in
the same run. Each is timed as a child process (interpreter start, imports and JIT included) and
the two alternate, so a noisy neighbour hurts both alike. Wall clock and CPU time (user + system,
from wait4) are both quoted: the CPU time moves less when other work shares the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

from bench_flows import ROOT, capture, residency_cmd

TARGET = 0.30
"""Names may add at most this share to the time of `residency flows`."""


@dataclass
class Runs:
    label: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def run(cmd: list[str]) -> tuple[float, float]:
    """Run `cmd` to completion, output discarded; (wall seconds, CPU seconds). Fails loudly."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(cmd)} failed:\n{err.read()[-2000:].decode()}")
    return wall, usage.ru_utime + usage.ru_stime


def overhead(names: list[float], none: list[float]) -> str:
    extra = statistics.median(names) / statistics.median(none) - 1
    return f"{100 * extra:+.0f}%"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--format", choices=("pcap", "pcapng"), default="pcap")
    ap.add_argument("--repeat", type=int, default=7, help="runs of each; the median is quoted")
    ap.add_argument("--regenerate", action="store_true", help="rewrite the captures first")
    args = ap.parse_args()

    path = capture(args.packets, args.regenerate)[args.format]
    residency = residency_cmd()
    if residency is None:
        raise SystemExit("`residency flows` is not available")
    base = [*residency, "flows", "--json", str(path)]
    pair = (Runs("names"), base), (Runs("--no-names"), [*base, "--no-names"])
    for _, cmd in pair:
        run(cmd)  # the first run reads the files into the page cache: not timed
    print(f"{path.relative_to(ROOT)}: {args.packets:,} packets, {args.repeat} runs each")
    for _ in range(args.repeat):
        for runs, cmd in pair:
            wall, cpu = run(cmd)
            runs.wall.append(wall)
            runs.cpu.append(cpu)
            print(f"  {runs.label:10} {wall:6.2f} s wall {cpu:6.2f} s CPU", flush=True)
    (names, _), (none, _) = pair
    print()
    print(f"{'':10} {'median wall':>12} {'median CPU':>11}")
    for runs, _ in pair:
        wall, cpu = statistics.median(runs.wall), statistics.median(runs.cpu)
        print(f"{runs.label:10} {wall:10.2f} s {cpu:9.2f} s")
    wall, cpu = overhead(names.wall, none.wall), overhead(names.cpu, none.cpu)
    print(f"{'names cost':10} {wall:>12} {cpu:>11}   (target: under +{100 * TARGET:.0f}%)")


if __name__ == "__main__":
    main()
