"""Benchmark the fleet report: DuckDB beside Spark `local[2]`, in one run, on generated lakes.

1. Partials: --hosts hosts x 1 day of partial tables (the map's output, a few rows per host)
   read from Parquet, merged and finalized into the fleet document.
2. Raw flows: --rows sealed flow rows across --units host-days (Parquet in the lake layout,
   destinations drawn from the providers' real prefixes in ../shared/ranges), judged by the
   shipped policy with the one Judge and Tally (map), merged (merge): rows judged per second,
   and per core (DuckDB's map runs on one core, Spark's on --cores).

Files go to bench/out/fleet (gitignored), generated once per size and reused.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.findings.tally import Tally  # noqa: E402
from agent.fleet import columns, engines, manifest, partial  # noqa: E402
from agent.fleet.lake import HostDay, Lake  # noqa: E402
from agent.fleet.report import Request, finalize  # noqa: E402
from agent.intel.detect import detect_kind  # noqa: E402
from agent.intel.parse import parse  # noqa: E402
from agent.intel.table import RangeTable  # noqa: E402
from agent.policy.judge import Judge  # noqa: E402
from agent.policy.load import load_policy  # noqa: E402

OUT = ROOT / "bench" / "out" / "fleet"
RANGES = ROOT.parent / "shared" / "ranges"
DAY_NS = 1_772_409_600 * 10**9  # 2026-03-02T00:00:00Z
PLACES = [("approved", "oci", "us-ashburn-1", "", "US", "", "Ashburn"),
          ("approved", "oci", "us-phoenix-1", "", "US", "", "Phoenix"),
          ("violation", "oci", "ap-singapore-1", "", "SG", "", "Singapore"),
          ("violation", "aws", "eu-west-1", "eu-west-1", "IE", "", "Dublin"),
          ("unverified", "", "", "", "", "", ""), ("out", "", "", "", "", "", "")]  # fmt: skip


def judge() -> tuple[Judge, Any]:
    sets = []
    for name in ("oci-public_ip_ranges.json", "aws-ip-ranges.json"):
        data = (RANGES / name).read_bytes()
        sets.append(parse(detect_kind(data, name), data, name))
    policy = load_policy(str(ROOT / "rules" / "policy.yaml"))
    oci = json.loads((RANGES / "oci-public_ip_ranges.json").read_bytes())
    aws = json.loads((RANGES / "aws-ip-ranges.json").read_bytes())
    prefixes = [c["cidr"] for r in oci["regions"] for c in r["cidrs"]]
    prefixes += [p["ip_prefix"] for p in aws["prefixes"]]
    return Judge(policy, RangeTable.compile(sets)), prefixes


def partial_lake(hosts: int) -> Path:
    path = OUT / f"partials-{len(partial.KEY)}-{hosts}.parquet"  # a new key, a new file
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    n = hosts * len(PLACES)
    hosts_column = [f"host-{h:06d}" for h in range(hosts) for _ in PLACES]
    data: dict[str, Any] = {"date": ["2026-03-02"] * n, "host": hosts_column}
    for i, k in enumerate(partial.KEY[2:]):
        data[k] = [p[i] for _ in range(hosts) for p in PLACES]
    data["flows"] = rng.integers(1, 10_000, n)
    data["bytes"] = data["flows"] * rng.integers(100, 100_000, n)
    data["first_ns"] = DAY_NS + rng.integers(0, 40_000 * 10**9, n)
    data["last_ns"] = data["first_ns"] + rng.integers(0, 40_000 * 10**9, n)
    pq.write_table(pa.table(data, schema=partial.SCHEMA), path, compression="zstd")
    return path


def raw_lake(rows: int, units: int, prefixes: list[str]) -> tuple[Lake, list[str]]:
    root = OUT / f"raw-{rows}-{units}"
    lake = Lake.open(str(root))
    files = [f"{lake.flows_dir(HostDay('2026-03-02', f'host-{u:05d}'))}/part-00000.parquet"
             for u in range(units)]  # fmt: skip
    if all(Path(f).exists() for f in files):
        return lake, files
    rng = random.Random(7)
    pool = [str(ipaddress.ip_network(p)[0]) for p in rng.sample(prefixes, 300) if ":" not in p]
    pool += [f"1.1.{i}.{i}" for i in range(20)]  # nowhere: unverified
    per = rows // units
    for u, f in enumerate(files):
        Path(f).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(_rows(f"host-{u:05d}", per, pool, u), f, compression="zstd")
    return lake, files


def _rows(host: str, n: int, pool: list[str], seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    first = DAY_NS + np.sort(rng.integers(0, 86_000 * 10**9, n))
    ints = {"proto": np.full(n, 6), "sport": rng.integers(1024, 65535, n), "dport": np.full(n, 443),
            "depth": np.zeros(n, np.int64), "packets_fwd": rng.integers(1, 100, n),
            "bytes_fwd": rng.integers(60, 10**6, n), "frame_bytes_fwd": rng.integers(60, 10**6, n),
            "packets_rev": rng.integers(1, 100, n), "bytes_rev": rng.integers(60, 10**6, n),
            "frame_bytes_rev": rng.integers(60, 10**6, n), "first_ns": first,
            "last_ns": first + rng.integers(0, 10**11, n), "tcp_flags_fwd": np.full(n, 0x1B),
            "tcp_flags_rev": np.full(n, 0x1B), "serial": np.arange(1, n + 1)}  # fmt: skip
    src = np.array(["10.20.0.15", "10.20.0.16", "192.168.9.9"])[rng.integers(0, 3, n)]
    strs = {"src": src, "dst": np.array(pool)[rng.integers(0, len(pool), n)],
            "end": np.full(n, "eof"), "direction": np.full(n, "syn")}
    data: dict[str, Any] = {"device_hostname": pa.array([host] * n)}
    for field, column, kind in columns.FLOW_FIELDS:
        if field == "names":
            data[column] = pa.array([[]] * n, kind)
        elif field in strs:
            data[column] = pa.array(strs[field], kind)
        else:
            data[column] = pa.array(ints[field], pa.int64()).cast(kind)
    for name in columns.SCHEMA.names:
        if name not in data:
            data[name] = pa.nulls(n, columns.SCHEMA.field(name).type)
    return pa.table(data, schema=columns.SCHEMA)


def fleet_of_partials(engine: str, path: Path, hosts: int, j: Judge, spark: Any) -> float:
    started = time.perf_counter()
    if engine == "duckdb":
        import duckdb

        con = duckdb.connect()
        reader = con.sql(f"SELECT * FROM read_parquet('{path}')").to_arrow_reader(65_536)
        merged = partial.merge_all(partial.from_arrow(reader))
        con.close()
    else:
        table = spark.read.parquet(f"file://{path}").toArrow()
        merged = partial.merge_all(partial.from_arrow([table]))
    checked = [manifest.Checked(HostDay("2026-03-02", f"host-{h:06d}"), manifest.OK, "",
                                {"unwatched_ns": 0}, "0" * 64) for h in range(hosts)]  # fmt: skip
    req = Request(Lake.open(str(OUT)), j.policy, j, [], {}, "")
    finalize(merged, checked, req)
    return time.perf_counter() - started


def judged(engine: str, lake: Lake, files: list[str], j: Judge) -> tuple[float, float, int]:
    """Wall and CPU seconds (this process's, every thread: DuckDB's map runs here), and the
    flows counted."""
    started, cpu = time.perf_counter(), time.process_time()
    merged = engines.partials(engine, lake, files, j)
    took, cpu = time.perf_counter() - started, time.process_time() - cpu
    return took, cpu, sum(c.flows for c in merged.values())


def per_flow(files: list[str], j: Judge) -> float:
    """The reference: the same rows judged flow by flow (`Flow` objects, `Judge.judge_one`,
    `Tally.add`), as the map did before it judged columns; rows per CPU second."""
    started, rows = time.process_time(), 0
    for f in files:
        flows, owners = columns.flows_of(pq.read_table(f))
        tally = Tally()
        tally.add([j.judge_one(x, None, p) for x, p in zip(flows, owners, strict=True)], "h")
        rows += len(flows)
    return rows / (time.process_time() - started)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=50_000)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--units", type=int, default=1_000)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--skip-spark", action="store_true", help="DuckDB only (no JVM)")
    args = ap.parse_args()
    j, prefixes = judge()
    part = partial_lake(args.hosts)
    lake, files = raw_lake(args.rows, args.units, prefixes)
    names = ("duckdb",) if args.skip_spark else engines.ENGINES
    spark = None if args.skip_spark else engines.spark_session(f"local[{args.cores}]")
    if spark is not None:
        spark.read.parquet(f"file://{part}").count()  # the JVM and the session warmed up
    engines.partials("duckdb", lake, files[:1], j)  # the lookup kernel compiled
    print(f"fleet report over {args.hosts:,} hosts' partials:")
    times = {e: fleet_of_partials(e, part, args.hosts, j, spark) for e in names}
    print("  " + ", ".join(f"{e} {t:.1f} s" for e, t in times.items()))
    if spark is not None:
        print(f"  spark/duckdb {times['spark'] / times['duckdb']:.2f}x")
    print(f"raw flows: {args.rows:,} rows across {args.units:,} host-days judged:")
    rates = {}
    for e in names:
        took, cpu, flows = judged(e, lake, files, j)
        assert flows == args.rows // args.units * args.units, flows
        cores = 1 if e == "duckdb" else args.cores
        rates[e] = flows / took
        per_cpu = f", {flows / cpu:,.0f} rows per CPU second" if e == "duckdb" else ""
        print(f"  {e}: {took:.1f} s, {rates[e]:,.0f} rows/s, {rates[e] / cores:,.0f} rows/s "
              f"per core{per_cpu}")  # fmt: skip
    if spark is not None:
        print(f"  spark/duckdb rows/s {rates['spark'] / rates['duckdb']:.2f}x")
        spark.stop()
    ref = per_flow(files[: max(1, args.units // 100)], Judge(j.policy, j.table))
    print(f"  per-flow reference (Flow objects, judge_one, Tally.add) on 1% of the host-days: "
          f"{ref:,.0f} rows per CPU second; duckdb (wall) / reference "
          f"{rates['duckdb'] / ref:.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
