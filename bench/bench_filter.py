"""Benchmark `residency flows --filter EXPR` against `tcpdump -r FILE -w /dev/null EXPR` on the
generated capture, for a few filters, and against `residency flows` without one.

Why this shape: tcpdump runs libpcap's own filter over every record and writes the selected
ones out, decoding nothing, so it is the floor for "read and select"; residency also starts an
interpreter and decodes and accounts the selected records into flows. Each run is a child
process, timed by its CPU time (user + system, from wait4: steadier than the wall clock on a
shared machine); the tools take turns and the medians are quoted, with residency's as a ratio
to tcpdump's. Beside them, in this process: residency's reader and filter alone (`Selector`
over every batch, nothing decoded), the part that compares with what tcpdump does.
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench_flows import ROOT, capture, child, residency_cmd

from agent.capture import open_capture
from agent.capture.bpf import Selector

FILTERS = ("tcp port 443", "udp and not port 53", "tcp[13] & 2 != 0", "ip6 or vlan")


def cpu(cmd: list[str]) -> float:
    """CPU seconds of one run of `cmd`, output discarded."""
    _, usage = child(cmd)
    return usage.ru_utime + usage.ru_stime


def selecting(path: str, expr: str) -> float:
    """CPU seconds to read the capture and run the filter over every batch, in this process."""
    selector = Selector(expr)
    start = time.process_time()
    with open_capture(path) as source:
        for batch in source.batches():
            selector.take(batch)
    return time.process_time() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--format", choices=("pcap", "pcapng"), default="pcap")
    ap.add_argument("--repeat", type=int, default=5, help="runs of each; the median is quoted")
    ap.add_argument("--regenerate", action="store_true", help="rewrite the captures first")
    args = ap.parse_args()

    path = str(capture(args.packets, args.regenerate)[args.format])
    residency = residency_cmd()
    if residency is None:
        raise SystemExit("`residency flows` is not available")
    flows = [*residency, "flows", "--json", path]
    runs: dict[str, list[list[str]]] = {"(none)": [flows]}
    for expr in FILTERS:
        runs[expr] = [[*flows, "--filter", expr], ["tcpdump", "-r", path, "-w", "/dev/null", expr]]
    for cmds in runs.values():
        for cmd in cmds:
            cpu(cmd)  # the first run reads the file into the page cache: not timed
    times: dict[str, list[list[float]]] = {k: [[] for _ in v] for k, v in runs.items()}
    print(f"{path}: {args.packets:,} packets, {args.repeat} runs each")
    alone: dict[str, list[float]] = {expr: [] for expr in FILTERS}
    for _ in range(args.repeat):
        for expr, cmds in runs.items():
            for got, cmd in zip(times[expr], cmds, strict=True):
                got.append(cpu(cmd))
            if expr in alone:
                alone[expr].append(selecting(path, expr))
    print(f"\n{'filter':24} {'flows CPU s':>12} {'tcpdump CPU s':>14} {'ratio':>6} "
          f"{'read+select CPU s':>18} {'ratio':>6}")  # fmt: skip
    for expr, got in times.items():
        ours = statistics.median(got[0])
        if len(got) == 1:
            print(f"{expr:24} {ours:12.2f}")
            continue
        theirs, inner = statistics.median(got[1]), statistics.median(alone[expr])
        print(f"{expr:24} {ours:12.2f} {theirs:14.2f} {ours / theirs:5.1f}x "
              f"{inner:18.3f} {inner / theirs:5.2f}x")  # fmt: skip
    print(f"\n(medians of {args.repeat}; run from {ROOT})")


if __name__ == "__main__":
    main()
