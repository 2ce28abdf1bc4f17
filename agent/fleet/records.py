"""`residency lake seal RECORDS... --host H`: flow record files (cloud flow logs, Zeek conn.log,
captures of NetFlow/IPFIX export datagrams) sealed into the lake as host H's days, beside the
journals' days, in the same layout and columns, so one fleet report judges both.

The files are read and joined together as `analyze` reads them (`agent.records.source`): a
connection logged in two of them is one flow. A flow is in the day its first record's window
begins. Its row has the journal's columns (`journal_seq` is its place among the joined flows)
and the record's own (`columns.RECORD_COLUMNS`). The manifest says what the day rests on
(`evidence`): the files read (name, sha256, kind), each source's vantage point, whether its
counts are exact or estimated (sampled), and its flows and bytes that day; the seconds a vantage
point says it did not log (AWS NODATA and SKIPDATA) are the day's coverage gaps and its
unwatched time, as heartbeat gaps are a journal's. A damaged file is refused whole: a sealed day
never changes, so none is sealed from part of a file. H is whoever the records speak for (the
VPC, the router, the tap): the records do not name one host, so it is given.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.errors import CorruptRecords, LakeError
from agent.files import input_name
from agent.fleet import columns, manifest
from agent.fleet.lake import HostDay, Lake, check_host
from agent.fleet.seal import DAY_NS, Sealed, parts_of, start_ns, write
from agent.journal import JournalFlow
from agent.model import COLUMN
from agent.records.join import Joined
from agent.records.model import Counts, CoverageGap, Where
from agent.records.source import RecordRead, read_records

RECORDS = "records"
"""The manifest's `evidence.kind` of a day sealed from flow record files."""
EPOCH = date(1970, 1, 1)


def seal_records(paths: Sequence[str], lake: Lake, key: Ed25519PrivateKey, host: str,
                 day: date | None = None, fields: Sequence[str] | None = None,
                 new_only: bool = False) -> list[Sealed]:  # fmt: skip
    """Seal `day`, or every day the records hold flows or gaps in; `fields` is a declared AWS
    format (`--aws-format`). `new_only` leaves the days that have a manifest unread."""
    host = check_host(host)
    read = read_records(paths, fields)
    for f in read.files:
        if f.error is not None:
            raise CorruptRecords(f.error.path, f.error.where, f"{f.error.reason}; refusing to "
                                 "seal part of a file: nothing sealed", f.error.offset)  # fmt: skip
    first = read.joined.batch.columns[COLUMN["first_ns"]] // DAY_NS
    gaps = [g for f in read.files for g in f.gaps]
    held = set(first.tolist()) | {n for g in gaps for n in _days_of(g.start_ns, g.end_ns)}
    days = [(day - EPOCH).days] if day is not None else sorted(held)
    if day is not None and days[0] not in held:
        raise LakeError(f"{paths[0]}: the records hold nothing on {day}")
    units = [HostDay((EPOCH + timedelta(days=n)).isoformat(), host) for n in days]
    if new_only:
        units = [u for u in units if lake.read(lake.manifest_path(u)) is None]
    return [_seal_day(read, gaps, lake, key, u) for u in units]


def _days_of(start: int, end: int) -> range:
    return range(start // DAY_NS, max(start, end - 1) // DAY_NS + 1)


def _seal_day(read: RecordRead, gaps: list[CoverageGap], lake: Lake, key: Ed25519PrivateKey,
              unit: HostDay) -> Sealed:  # fmt: skip
    j, start = read.joined, start_ns(date.fromisoformat(unit.date))
    c = j.batch.columns
    mine = np.flatnonzero(c[COLUMN["first_ns"]] // DAY_NS == start // DAY_NS)
    mine = mine[np.lexsort((c[COLUMN["serial"]][mine], c[COLUMN["first_ns"]][mine]))]
    batch = j.batch.take(mine)
    rows = [JournalFlow(f.serial, f, {}) for f in batch.records()]
    counts = np.where(j.estimated[mine], str(Counts.ESTIMATED), str(Counts.EXACT))
    names = [input_name(f.path) for f in read.files]
    record = {
        "record_source": j.source[mine].tolist(), "record_vantage": j.vantage[mine].tolist(),
        "record_counts": counts.tolist(), "record_file": [names[t] for t in j.tags[mine]],
        "record_where": [str(Where(*w)) for w in j.where[mine].tolist()],
    }  # fmt: skip
    parts = parts_of(columns.to_table(unit.host, rows, record))
    clipped = [(g, max(g.start_ns, start), min(g.end_ns, start + DAY_NS)) for g in gaps]
    clipped = [(g, a, b) for g, a, b in clipped if a < b]
    evidence = {
        "kind": RECORDS,
        "files": [{"file": n, "sha256": f.sha256, "kind": f.kind}
                  for n, f in zip(names, read.files, strict=True)],  # fmt: skip
        "sources": _sources(j, mine, counts),
        "estimated": bool(j.estimated[mine].any()),
        "coverage_gaps": _gaps(clipped),
    }
    data = manifest.build(unit, parts, None, _union([(a, b) for _, a, b in clipped]), 0, key,
                          evidence)  # fmt: skip
    return write(lake, unit, parts, data)


def _sources(j: Joined, mine: Any, counts: Any) -> list[dict[str, Any]]:
    """Each (source, vantage point, counts)'s flows and bytes (both ways) of the day."""
    c = j.batch.columns
    size = (c[COLUMN["bytes_fwd"]] + c[COLUMN["bytes_rev"]])[mine]
    found: dict[tuple[str, str, str], list[int]] = {}
    for key, n in zip(zip(j.source[mine].tolist(), j.vantage[mine].tolist(), counts.tolist(),
                          strict=True), size.tolist(), strict=True):  # fmt: skip
        have = found.setdefault(key, [0, 0])
        have[0], have[1] = have[0] + 1, have[1] + n
    return [{"source": s, "vantage": v, "counts": k, "flows": f, "bytes": b}
            for (s, v, k), (f, b) in sorted(found.items())]  # fmt: skip


def _gaps(clipped: list[tuple[CoverageGap, int, int]]) -> list[dict[str, Any]]:
    """Seconds not logged within the day, by source, vantage point and why (as `analyze`
    counts them: each gap rounded to the second)."""
    seconds: Counter[tuple[str, str, str]] = Counter()
    for g, a, b in clipped:
        seconds[(g.source, g.vantage, g.gap.value)] += round((b - a) / 1e9)
    return [{"source": s, "vantage": v, "gap": k, "seconds": n}
            for (s, v, k), n in sorted(seconds.items())]  # fmt: skip


def _union(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The time some vantage point was not logged, as disjoint spans."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out
