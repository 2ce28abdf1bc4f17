"""`residency lake seal`: a closed UTC day of a host's journal into the lake, as immutable
Parquet (zstd) and a signed manifest.

A day's rows are the flows whose first packet falls in it (each flow in exactly one day) and
the heartbeats that overlap it, read only from a journal that verifies, up to its verified
head. A day is closed once the journal holds a heartbeat that ends after it: the agent watched
past midnight. The manifest names the head of the last row it read, so the cut can be checked
against the journal later; a flow journaled for the day after it was sealed makes the next seal
of that day differ, which is refused (a sealed day never changes). The daemon seals each
closed day once (agent.daemon.sealer), waiting past midnight for the flows begun before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.errors import JournalError, LakeError
from agent.fleet import columns, manifest
from agent.fleet.lake import HostDay, Lake, check_host
from agent.journal import Journal, unwatched, verify_journal
from agent.journal.kinds import FLOW, HEARTBEAT, START

DAY_NS = 86_400 * 1_000_000_000
PART_ROWS = 1_000_000
"""Rows per Parquet file: a day of a busy host is several files."""


@dataclass(frozen=True, slots=True)
class Sealed:
    unit: HostDay
    rows: int
    written: bool
    """False when the day was sealed before with exactly these bytes."""


def seal(journal_path: str, lake: Lake, key: Ed25519PrivateKey, host: str | None = None,
         day: date | None = None, settle_ns: int = 0, new_only: bool = False) -> list[Sealed]:
    """Seal `day`, or every closed day in the journal, of a verified journal. A day is closed
    once the journal's heartbeats reach `settle_ns` past its end (the daemon waits for the
    flows that began before midnight to end). `new_only` leaves the days that have a manifest
    unread (the daemon's way: once each); else each is sealed again and must come out the
    same."""
    check = verify_journal(journal_path)
    if not check.ok:
        raise JournalError(f"{journal_path}: refusing to seal a journal that fails "
                           f"verification: {check}")  # fmt: skip
    with Journal.open(journal_path) as journal:
        host = check_host(host or _host_of(journal, check.last_seq, journal_path))
        closed = (journal.last_end(HEARTBEAT, check.last_seq) or 0) - settle_ns
        if day is not None and start_ns(day) + DAY_NS > closed:
            raise LakeError(f"{journal_path}: {day} is not closed: the journal's heartbeats "
                            f"end at {_iso(closed + settle_ns)}")  # fmt: skip
        days = [day] if day is not None else _days(journal, check.last_seq, closed)
        units = [HostDay(d.isoformat(), host) for d in days]
        if new_only:
            units = [u for u in units if lake.read(lake.manifest_path(u)) is None]
        return [_seal_day(journal, lake, key, u, check.last_seq) for u in units]


def start_ns(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1_000_000_000


def _seal_day(journal: Journal, lake: Lake, key: Ed25519PrivateKey, unit: HostDay,
              last: int) -> Sealed:  # fmt: skip
    start = start_ns(date.fromisoformat(unit.date))
    end = start + DAY_NS
    rows = [r for r in journal.flows(start, end) if r.seq <= last and r.flow.first_ns >= start]
    rows.sort(key=lambda r: (r.flow.first_ns, r.seq))
    beats = [b for b in journal.heartbeats(start, end) if b.seq <= last and b.at_ns > start]
    cut = max([r.seq for r in rows] + [b.seq for b in beats], default=0)
    head = str(journal.head(cut)) if cut else None
    parts = parts_of(columns.to_table(unit.host, rows))
    data = manifest.build(unit, parts, head, unwatched(beats, start, end), len(beats), key)
    return write(lake, unit, parts, data)


def parts_of(table: pa.Table) -> list[manifest.Part]:
    """A day's rows as its Parquet files, `PART_ROWS` each (one file when it has none)."""
    parts = []
    for n, at in enumerate(range(0, max(len(table), 1), PART_ROWS)):
        chunk = table.slice(at, PART_ROWS)
        sink = pa.BufferOutputStream()
        pq.write_table(chunk, sink, compression="zstd")
        parts.append(manifest.Part(f"part-{n:05d}.parquet", sink.getvalue().to_pybytes(),
                                   len(chunk)))  # fmt: skip
    return parts


def write(lake: Lake, unit: HostDay, parts: list[manifest.Part], data: bytes) -> Sealed:
    """Write the files, then the manifest (the seal itself); a day sealed before must come out
    byte for byte the same."""
    rows = sum(p.rows for p in parts)
    before = lake.read(lake.manifest_path(unit))
    if before is not None:
        if before != data:
            raise LakeError(f"{lake.uri}: {unit.host} on {unit.date} is sealed already, with "
                            "different contents: a sealed day never changes")  # fmt: skip
        for p in parts:
            if lake.read(f"{lake.flows_dir(unit)}/{p.name}") != p.data:
                raise LakeError(f"{lake.uri}: {unit.host} on {unit.date}: {p.name} is not the "
                                "file that was sealed")  # fmt: skip
        return Sealed(unit, rows, False)
    for p in parts:
        lake.write(f"{lake.flows_dir(unit)}/{p.name}", p.data)
    lake.write(lake.manifest_path(unit), data)
    return Sealed(unit, rows, True)


def _host_of(journal: Journal, last: int, path: str) -> str:
    hosts = {str(r.body.get("host")) for r in journal.entries(START) if r.seq <= last
             and r.body.get("host")}  # fmt: skip
    if len(hosts) != 1:
        raise LakeError(f"{path}: the journal names {len(hosts)} hosts in its start rows; "
                        "give --host")  # fmt: skip
    return hosts.pop()


def _days(journal: Journal, last: int, closed: int) -> list[date]:
    """The closed days that hold flows or heartbeats."""
    seen = {first for first, _ in journal.days(FLOW, last)}
    for first, final in journal.days(HEARTBEAT, last):
        seen.update(range(first, final + 1))
    epoch = date(1970, 1, 1)
    days = (epoch + timedelta(days=n) for n in sorted(seen))
    return [d for d in days if start_ns(d) + DAY_NS <= closed]


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns // 1_000_000_000, UTC).isoformat()
