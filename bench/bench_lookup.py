"""Benchmark address lookups: residency's compiled table against pytricia and an `ipaddress`
loop, in one run, on the providers' real range files (../shared/ranges, ../shared/geo).

residency answers all layers (special-purpose, sites, four providers, DB-IP country) in one probe;
the references hold only the provider prefixes (a trie cannot hold DB-IP's arbitrary ranges), so
the comparison favours them. Addresses: half inside provider prefixes, half random, IPv4 and IPv6
mixed 2:1. Times are medians of --repeat runs; the machine is noisy.
"""

from __future__ import annotations

import argparse
import gzip
import ipaddress
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.intel.detect import detect_kind  # noqa: E402
from agent.intel.lookup import to_words  # noqa: E402
from agent.intel.parse import parse  # noqa: E402
from agent.intel.table import RangeTable  # noqa: E402

SHARED = ROOT.parent / "shared"


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def load_files() -> list[tuple[str, bytes]]:
    files = sorted((SHARED / "ranges").glob("*.json")) + sorted((SHARED / "geo").glob("*.csv.gz"))
    out = []
    for f in files:
        data = f.read_bytes()
        out.append((str(f), gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data))
    return out


def queries(prefixes: list[str], n: int, rng: random.Random) -> list[str]:
    nets = [ipaddress.ip_network(p) for p in prefixes]
    v4 = [x for x in nets if x.version == 4]
    v6 = [x for x in nets if x.version == 6]
    out = []
    for i in range(n):
        six = i % 3 == 2
        if i % 2:
            net = rng.choice(v6 if six else v4)
            out.append(str(net[rng.randrange(min(net.num_addresses, 1 << 62))]))
        elif six:
            out.append(str(ipaddress.IPv6Address((0x2 << 124) | rng.getrandbits(124))))
        else:
            out.append(str(ipaddress.IPv4Address(rng.getrandbits(32))))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--addresses", type=int, default=3_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    if not SHARED.is_dir():
        raise SystemExit(f"needs the shared range files at {SHARED}")

    files = load_files()
    start = time.perf_counter()
    sets = [parse(detect_kind(data, name), data, name) for name, data in files]
    parsed = time.perf_counter() - start
    table = RangeTable.compile(sets)
    compiled = time.perf_counter() - start
    cache = ROOT / "bench" / "out" / "lookup-table.npz"
    cache.parent.mkdir(exist_ok=True)
    table.save(cache)
    loaded = median_seconds(lambda: RangeTable.load(cache), args.repeat)
    print(f"compile: parse {parsed:.2f} s + compile {compiled - parsed:.2f} s cold; "
          f"load from cache {loaded:.3f} s; {len(table.a['starts_hi']):,} segments")  # fmt: skip

    provider_sets = [s for s in sets if s.layer == "providers"]
    prefixes = []
    for s in provider_sets:
        for f_hi, f_lo, plen in zip(s.first_hi.tolist(), s.first_lo.tolist(),
                                    s.prefix_len.tolist(), strict=True):  # fmt: skip
            v = f_hi << 64 | f_lo
            if v >> 32 == 0xFFFF:
                prefixes.append(f"{ipaddress.IPv4Address(v & 0xFFFFFFFF)}/{plen - 96}")
            else:
                prefixes.append(f"{ipaddress.IPv6Address(v)}/{plen}")
    prefixes = sorted(set(prefixes))
    rng = random.Random(7)
    addrs = queries(prefixes, args.addresses, rng)
    hi, lo, _ = to_words(addrs)

    ours = median_seconds(lambda: table.locate(hi, lo), args.repeat)
    ours_text = median_seconds(lambda: table.locate(*to_words(addrs[:300_000])[:2]), 3)
    rows: list[tuple[str, int, float]] = [
        ("residency table.locate (words)", len(addrs), ours),
        ("residency from text (to_words + locate)", 300_000, ours_text),
    ]
    try:
        import pytricia

        t4, t6 = pytricia.PyTricia(32), pytricia.PyTricia(128)
        for p in prefixes:
            (t6 if ":" in p else t4)[p] = p
        sub = addrs[:300_000]

        def trie() -> None:
            for a in sub:
                (t6 if ":" in a else t4).get_key(a)

        rows.append(("pytricia get_key (text)", len(sub), median_seconds(trie, 3)))
    except ImportError:
        print("pytricia not installed: `pip install pytricia` to compare with it")

    by_len: dict[tuple[int, int], set[int]] = {}
    for p in prefixes:
        net = ipaddress.ip_network(p)
        by_len.setdefault((net.version, net.prefixlen), set()).add(int(net.network_address))
    lengths = sorted(by_len, key=lambda k: -k[1])
    few = addrs[:5_000]

    def loop() -> None:
        for a in few:
            ip = ipaddress.ip_address(a)
            for version, plen in lengths:
                if version == ip.version:
                    bits = 32 if version == 4 else 128
                    if int(ip) >> (bits - plen) << (bits - plen) in by_len[(version, plen)]:
                        break

    rows.append(("ipaddress loop per prefix length", len(few), median_seconds(loop, 3)))
    base = len(addrs) / ours
    print(f"{'method':<42}{'addresses':>11}{'seconds':>10}{'per second':>14}{'x residency':>13}")
    for name, n, secs in rows:
        rate = n / secs
        print(f"{name:<42}{n:>11,}{secs:>10.3f}{rate:>14,.0f}{base / rate:>13.1f}")
    v4 = np.count_nonzero(hi == 0)
    print(f"({v4:,} IPv4 and {len(addrs) - v4:,} IPv6 addresses; medians of {args.repeat} runs)")


if __name__ == "__main__":
    main()
