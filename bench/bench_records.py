"""Benchmark flow records judged per second: AWS VPC flow logs as text and as Parquet, each
beside a plain Python reader of the same file in the same run (medians of --repeat runs).

Three figures per format, each the whole offline chain up to that step: "read" is the file
parsed and checked into record columns (`read_record_file`); "read + join" the records joined
into flows (both directions, windows, vantage points: a FlowBatch); "read + join + judge" every
flow judged with the shipped policy against the real provider range files in ../shared/ranges.
The plain readers only split and convert the same fields, one Python object a record, with no
checks: what a straightforward Python reader pays. Ratios are residency's records/s over the
plain reader's. Files are generated (seeded) into
bench/out/ (gitignored): a v2 default-format log of --records records, half of them the reverse
direction of the other half, destinations drawn from the providers' own prefixes.
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from bench_lookup import load_files  # noqa: E402

from agent.findings.tally import Tally  # noqa: E402
from agent.intel.detect import detect_kind  # noqa: E402
from agent.intel.parse import parse  # noqa: E402
from agent.intel.table import RangeTable  # noqa: E402
from agent.policy.judge import Judge  # noqa: E402
from agent.policy.load import load_policy  # noqa: E402
from agent.records.source import read_record_file, read_records  # noqa: E402

OUT = ROOT / "bench" / "out"
HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
    "start end action log-status"
)


def generate(n: int, table_prefixes: list[str], path: Path) -> None:
    rng = random.Random(14)
    nets = [ipaddress.ip_network(p) for p in table_prefixes if ":" not in p]
    lines = [HEADER]
    t = 1_700_000_000
    for i in range(n // 2):
        net = rng.choice(nets)
        dst = str(net[rng.randrange(min(net.num_addresses, 1 << 20))])
        src, sport, dport = f"10.0.{i % 250}.{i // 250 % 250 + 1}", 1024 + i % 60000, 443
        start = t + i // 1000
        pk, by = rng.randrange(1, 50), rng.randrange(40, 60000)
        lines.append(f"2 123456789010 eni-0a1b2c3d {src} {dst} {sport} {dport} 6 {pk} {by} "
                     f"{start} {start + 60} ACCEPT OK")  # fmt: skip
        lines.append(f"2 123456789010 eni-0a1b2c3d {dst} {src} {dport} {sport} 6 {pk} {by * 3} "
                     f"{start} {start + 60} ACCEPT OK")  # fmt: skip
    path.write_text("\n".join(lines) + "\n")


def to_parquet(text: Path, path: Path) -> None:
    rows = [line.split() for line in text.read_text().splitlines()[1:]]
    names = HEADER.split()
    longs = {"packets", "bytes", "start", "end"}
    ints = {"version", "srcport", "dstport", "protocol"}
    cols = {}
    for i, name in enumerate(names):
        kind = pa.int64() if name in longs else pa.int32() if name in ints else pa.string()
        values = [r[i] for r in rows]
        cols[name.replace("-", "_")] = pa.array(
            [int(v) for v in values] if kind != pa.string() else values, type=kind
        )
    pq.write_table(pa.table(cols), path)


def plain_text(path: Path) -> int:
    total = 0
    with open(path) as f:
        next(f)
        for line in f:
            v = line.split()
            total += int(v[8]) + int(v[9]) + int(v[5]) + int(v[6]) + int(v[10]) + int(v[11])
    return total


def plain_parquet(path: Path) -> int:
    table = pq.read_table(path)
    total = 0
    cols = [table.column(c).to_pylist() for c in ("packets", "bytes", "srcport", "dstport")]
    for values in zip(*cols, strict=True):
        total += sum(values)
    return total


def read(path: Path) -> int:
    return read_record_file(str(path)).records


def read_join(path: Path) -> int:
    return len(read_records([str(path)]).joined.batch)


def read_join_judge(path: Path, judge_with: Callable[[], Judge]) -> int:
    flows = read_records([str(path)]).joined.batch
    verdicts = judge_with().judge_batch(flows)
    Tally().add_batch(verdicts, path.name)
    return len(verdicts)


def judging(path: Path, judge_with: Callable[[], Judge], repeat: int) -> tuple[float, float]:
    """The judging side alone (judge and tally) on the flows the file joins into: as columns
    (`judge_batch`, `Tally.add_batch`), and flow by flow (`judge_one`, `Tally.add`) as the
    reference; a fresh judge each run, so no decision is remembered from the last."""
    flows = read_records([str(path)]).joined.batch

    def columnar() -> None:
        Tally().add_batch(judge_with().judge_batch(flows), path.name)

    def per_flow() -> None:
        judge = judge_with()
        Tally().add([judge.judge_one(f) for f in flows.records()], path.name)

    return median(columnar, repeat), median(per_flow, max(1, repeat // 2))


def median(fn: Callable[[], object], repeat: int) -> float:
    """The median CPU seconds of this process (every thread) over `repeat` runs: on a shared
    machine the work per core, not the wait for one."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-judge", action="store_true", help="leave out the judged figures")
    args = ap.parse_args()
    sets = [parse(detect_kind(data, name), data, name) for name, data in load_files()]
    table = RangeTable.compile(sets)
    policy = load_policy(str(ROOT / "rules" / "policy.yaml"))
    OUT.mkdir(exist_ok=True)
    text = OUT / f"aws-{args.records}.log"
    generate(args.records, _prefixes(sets), text)
    parquet = OUT / f"aws-{args.records}.parquet"
    to_parquet(text, parquet)
    print(f"{args.records:,} records, CPU seconds, median of {args.repeat} runs")
    for name, path, plain in (("AWS text", text, plain_text),
                              ("AWS Parquet", parquet, plain_parquet)):  # fmt: skip
        base = median(lambda p=path, f=plain: f(p), args.repeat)  # type: ignore[misc]
        rows = [("plain Python reader", base),
                ("residency read", median(lambda p=path: read(p), args.repeat)),  # type: ignore[misc]
                ("residency read + join", median(lambda p=path: read_join(p), args.repeat))]  # type: ignore[misc]  # fmt: skip
        if not args.no_judge:
            rows.append(("residency read + join + judge", median(
                lambda p=path: read_join_judge(p, lambda: Judge(policy, table)), args.repeat)))  # type: ignore[misc]  # fmt: skip
        print(name)
        for what, seconds in rows:
            rate = args.records / seconds
            print(f"  {what:<32} {seconds:7.3f} s  {rate:>12,.0f} records/s  "
                  f"{base / seconds:6.2f}x the plain reader")  # fmt: skip
        if not args.no_judge:
            cols, ref = judging(path, lambda: Judge(policy, table), args.repeat)
            rate = args.records / cols
            print(f"  {'judging only, as columns':<32} {cols:7.3f} s  {rate:>12,.0f} records/s  "
                  f"{ref / cols:6.1f}x flow by flow ({args.records / ref:,.0f}/s)")


def _prefixes(sets: list[object]) -> list[str]:
    out = []
    for s in sets:
        if getattr(s, "layer", "") != "providers":
            continue
        for hi, lo, plen in zip(s.first_hi.tolist(), s.first_lo.tolist(),  # type: ignore[attr-defined]
                                s.prefix_len.tolist(), strict=True):  # type: ignore[attr-defined]  # fmt: skip
            v = hi << 64 | lo
            if v >> 32 == 0xFFFF and plen - 96 >= 8:
                out.append(f"{ipaddress.IPv4Address(v & 0xFFFFFFFF)}/{plen - 96}")
    return sorted(set(out))


if __name__ == "__main__":
    main()
