"""Benchmark IPFIX records decoded and judged per second, beside a plain Python struct loop
over the same datagrams in the same run (medians of --repeat runs).

The datagrams are generated (seeded) in memory: one template (IPv4 addresses, ports,
protocol, TCP flags, 8-byte octet and packet counts, flowStart/EndMilliseconds) and data sets
of 30 records per datagram, half of them the reverse direction of the other half, destinations
drawn from the providers' own prefixes in ../shared/ranges. Measured:

- residency decode: `Collector.collect` over all the datagrams (each one's headers and sets
  walked, template state, sampling lookup; the data sets of one template decoded together as
  arrays into a FlowRecordBatch, addresses as text once each);
- residency decode + join: the records joined into flows (both directions) as for any flow
  record source (`agent.records.join`);
- residency decode + join + judge: those flows judged with the shipped policy against the
  real range files and counted, as columns (`Judge.judge_batch`, `Tally.add_batch`), as
  `analyze` judges a capture of exports;
- plain struct loop: the message and set headers walked and `struct.iter_unpack` over each
  data set, summing the fields: a plain Python reader of the same bytes, with no checks.

Times are CPU seconds of this process (medians): on a shared machine, the work per core.
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_lookup import load_files  # noqa: E402
from bench_records import _prefixes, median  # noqa: E402

from agent.findings.tally import Tally  # noqa: E402
from agent.intel.detect import detect_kind  # noqa: E402
from agent.intel.parse import parse  # noqa: E402
from agent.intel.table import RangeTable  # noqa: E402
from agent.model import FlowBatch  # noqa: E402
from agent.policy.judge import Judge  # noqa: E402
from agent.policy.load import load_policy  # noqa: E402
from agent.records.batch import FlowRecordBatch  # noqa: E402
from agent.records.join import join_batches  # noqa: E402
from agent.records.netflow import Collector  # noqa: E402

FIELDS = ((8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (6, 1), (1, 8), (2, 8), (152, 8), (153, 8))
RECORD = struct.Struct(">4s4sHHBBQQQQ")
PER_DATAGRAM = 30
TEMPLATE_ID = 256


def message(sets: bytes, seq: int) -> bytes:
    return struct.pack(">HHIII", 10, 16 + len(sets), 1_700_000_000, seq, 1) + sets


def datagrams(n: int, prefixes: list[str]) -> list[bytes]:
    rng = random.Random(14)
    nets = [ipaddress.ip_network(p) for p in prefixes if ":" not in p]
    fields = b"".join(struct.pack(">HH", ie, length) for ie, length in FIELDS)
    out = [message(struct.pack(">HHHH", 2, 8 + len(fields), TEMPLATE_ID, len(FIELDS)) + fields, 0)]
    records = []
    t = 1_700_000_000_000
    for i in range(n // 2):
        net = rng.choice(nets)
        dst = net[rng.randrange(min(net.num_addresses, 1 << 20))].packed
        src = bytes([10, 0, i % 250, i // 250 % 250 + 1])
        sport, pk, by = 1024 + i % 60000, rng.randrange(1, 50), rng.randrange(40, 60000)
        records.append(RECORD.pack(src, dst, sport, 443, 6, 0x1B, by, pk, t + i, t + i + 900))
        records.append(RECORD.pack(dst, src, 443, sport, 6, 0x1B, by * 3, pk, t + i, t + i + 900))
    for start in range(0, len(records), PER_DATAGRAM):
        body = b"".join(records[start : start + PER_DATAGRAM])
        out.append(message(struct.pack(">HH", TEMPLATE_ID, 4 + len(body)) + body, start))
    return out


def plain(grams: list[bytes]) -> int:
    total = 0
    header, set_header = struct.Struct(">HHIII"), struct.Struct(">HH")
    for d in grams:
        _, length, _, _, _ = header.unpack_from(d)
        pos = 16
        while pos + 4 <= length:
            sid, size = set_header.unpack_from(d, pos)
            if sid == TEMPLATE_ID:
                body = d[pos + 4 : pos + size]
                usable = len(body) - len(body) % RECORD.size
                for r in RECORD.iter_unpack(body[:usable]):
                    total += r[2] + r[3] + r[4] + r[6] + r[7] + (r[9] - r[8])
            pos += size
    return total


def decode(grams: list[bytes]) -> list[FlowRecordBatch]:
    return Collector().collect((d, "192.0.2.1", 0, 0) for d in grams)


def decode_join(grams: list[bytes]) -> FlowBatch:
    batches = decode(grams)
    return join_batches(batches, [0] * len(batches)).batch


def decode_join_judge(grams: list[bytes], judge: Judge) -> int:
    verdicts = judge.judge_batch(decode_join(grams))
    Tally().add_batch(verdicts, "exports")
    return len(verdicts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-judge", action="store_true", help="leave out the judged figure")
    args = ap.parse_args()
    sets = [parse(detect_kind(data, name), data, name) for name, data in load_files()]
    judge = Judge(load_policy(str(ROOT / "rules" / "policy.yaml")), RangeTable.compile(sets))
    grams = datagrams(args.records, _prefixes(sets))
    assert sum(len(b) for b in decode(grams)) == args.records == 2 * len(decode_join(grams))
    base = median(lambda: plain(grams), args.repeat)
    rows = [
        ("plain Python struct loop", base),
        ("residency decode", median(lambda: decode(grams), args.repeat)),
        ("residency decode + join", median(lambda: decode_join(grams), args.repeat)),
    ]  # fmt: skip
    if not args.no_judge:
        rows.append(("residency decode + join + judge",
                     median(lambda: decode_join_judge(grams, judge), args.repeat)))  # fmt: skip
    print(f"{args.records:,} IPFIX records in {len(grams):,} datagrams, CPU seconds, "
          f"median of {args.repeat} runs")  # fmt: skip
    for name, seconds in rows:
        print(f"  {name:<32} {seconds:7.3f} s  {args.records / seconds:>12,.0f} records/s  "
              f"{base / seconds:6.2f}x the plain reader")  # fmt: skip


if __name__ == "__main__":
    main()
