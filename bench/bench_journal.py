"""Benchmark the journal: appending flow rows in batches of --batch, and verifying the chain,
against plain sqlite3 doing the same work without the chain, in the same run.

The reference appends the same rows with the same canonical_body JSON, schema and settings (WAL,
synchronous=FULL, one transaction per batch) through `executemany`, without hashing; its
verify line only reads every row back. A second reference with synchronous=NORMAL shows what
the fsync per batch costs. Each figure is the median of --repeat runs on a fresh file.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.journal import Entry, Journal, flow_entry  # noqa: E402
from agent.journal.chain import canonical_body  # noqa: E402
from agent.journal.sqlite import CREATE  # noqa: E402
from agent.model import Flow, Process  # noqa: E402

S = 1_000_000_000


def make_rows(n: int, seed: int) -> list[Entry]:
    rng = random.Random(seed)
    procs = [
        Process(100 + i, f"svc{i}", f"/usr/bin/svc{i}", "daemon", (f"svc{i}", "-d"))
        for i in range(20)
    ]
    rows = []
    for i in range(n):
        first = 1_700_000_000 * S + i * 1_000_000
        n = rng.randrange
        flow = Flow(proto=6, src=f"10.0.{n(256)}.{n(256)}", sport=n(1024, 65536),
                    dst=f"192.0.2.{n(256)}", dport=443, depth=0, packets_fwd=n(1, 500),
                    bytes_fwd=n(10**6), frame_bytes_fwd=n(10**6), packets_rev=n(1, 500),
                    bytes_rev=n(10**6), frame_bytes_rev=n(10**6), first_ns=first,
                    last_ns=first + n(10 * S), tcp_flags_fwd=0x1B, tcp_flags_rev=0x1B,
                    end="eof", serial=i,
                    names=(("sni", f"host{n(1000)}.example.com"),))  # fmt: skip
        verdict = {"decision": "allow", "rule": "rules/policy.yaml:12",
                   "evidence": {"provider": "oci", "region": "eu-frankfurt-1"}}  # fmt: skip
        rows.append(flow_entry(flow, verdict, rng.choice(procs)))
    return rows


def median_seconds(fn: Callable[[Path], object], repeat: int, folder: Path) -> float:
    times = []
    for i in range(repeat):
        path = folder / f"run-{time.monotonic_ns()}-{i}.db"
        start = time.perf_counter()
        fn(path)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ours(rows: list[Entry], batch: int) -> Callable[[Path], object]:
    def run(path: Path) -> None:
        with Journal.open(path, create=True) as journal:
            for i in range(0, len(rows), batch):
                journal.append(rows[i : i + batch])

    return run


def reference(rows: list[Entry], batch: int, synchronous: str) -> Callable[[Path], object]:
    def run(path: Path) -> None:
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute(f"PRAGMA synchronous = {synchronous}")
        for statement in filter(str.strip, CREATE.split(";")):
            db.execute(statement)
        seq = 0
        for i in range(0, len(rows), batch):
            part = rows[i : i + batch]
            values = [
                (seq + j + 1, e.kind, e.ts_ns, e.end, canonical_body(e.body), b"")
                for j, e in enumerate(part)
            ]
            seq += len(part)
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?)", values)
            db.execute("COMMIT")
        db.close()

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=1_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dir", type=Path, default=ROOT / "bench" / "out", help="where the files go")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    rows = make_rows(args.rows, seed=7)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        encoded = median_seconds(
            lambda _: [canonical_body(e.body) for e in rows], args.repeat, folder
        )
        appended = median_seconds(ours(rows, args.batch), args.repeat, folder)
        plain = median_seconds(reference(rows, args.batch, "FULL"), args.repeat, folder)
        normal = median_seconds(reference(rows, args.batch, "NORMAL"), args.repeat, folder)
        path = folder / "verify.db"
        ours(rows, args.batch)(path)
        with Journal.open(path) as journal:
            verified = median_seconds(lambda _: journal.verify(), args.repeat, folder)
            assert journal.verify().rows == len(rows)
        db = sqlite3.connect(path)
        read = median_seconds(
            lambda _: sum(1 for _ in db.execute("SELECT * FROM entries")), args.repeat, folder
        )
        size = path.stat().st_size
    table = [
        (f"residency append, batches of {args.batch:,}", appended, plain),
        ("sqlite3 executemany, no chain (reference)", plain, plain),
        ("sqlite3 executemany, no chain, synchronous=NORMAL", normal, plain),
        ("canonical_body JSON alone (part of both appends)", encoded, plain),
        ("residency verify", verified, read),
        ("sqlite3 read every row, no hashing (reference)", read, read),
    ]  # fmt: skip
    print(f"{'what':<52}{'rows':>9}{'seconds':>9}{'rows/s':>11}{'x ref':>7}")
    for name, secs, ref in table:
        print(f"{name:<52}{len(rows):>9,}{secs:>9.3f}{len(rows) / secs:>11,.0f}{secs / ref:>7.2f}")
    print(f"(flow rows with verdict and process, {size / len(rows):.0f} bytes each on disk; "
          f"medians of {args.repeat} runs in {args.dir})")  # fmt: skip


if __name__ == "__main__":
    main()
