"""Helpers several test modules share."""

from __future__ import annotations

import signal
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scapy.packet import Packet

from agent.capture import open_capture
from agent.cli.base import utcnow
from agent.intel.store import Store, read_bytes
from agent.model import Flow
from agent.wire.batch import RecordBatch
from pcaps.capfile import SEC, columns
from tests.truth import SHARED, analyze


@dataclass(frozen=True)
class Outcome:
    """Everything `analyze` reports, in a form that compares across file names."""

    flows: list[Flow]
    """Sorted, with serials zeroed, so captures holding the same packets compare equal."""
    stats: dict[str, object]
    warnings: list[tuple[int, str]]
    error: tuple[type, int, str] | None


def outcome(path: Path) -> Outcome:
    flows, stats, err = analyze(path)
    summary = stats.as_dict()
    del summary["warnings"]
    summary["link_types"] = {str(t["number"]): t["records"] for t in summary["link_types"]}
    return Outcome(
        sorted((f._replace(serial=0) for f in flows), key=repr),  # serials count per capture
        summary,
        [(w.offset, w.reason) for w in stats.warnings],
        None if err is None else (type(err), err.offset, err.reason),
    )


@dataclass(frozen=True)
class Seen:
    ts_ns: int
    caplen: int
    origlen: int
    linktype: int
    file_offset: int


def records_of(path: Path) -> list[Seen]:
    """What the reader itself yields, record by record."""
    seen: list[Seen] = []
    with open_capture(str(path)) as source:
        for b in source.batches():
            rows = zip(b.ts_ns, b.caplen, b.origlen, b.linktype, b.file_offset, strict=True)
            seen.extend(Seen(*map(int, row)) for row in rows)
    return seen


class Hang(Exception):
    pass


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Turn a reader that never returns into a test failure instead of a stuck test run."""

    def fire(_signum: int, _frame: object) -> None:
        raise Hang(f"still reading after {seconds} s: the reader loops forever")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


PROVIDER_FILES = ("aws-ip-ranges.json", "gcp-cloud.json", "oci-public_ip_ranges.json")
"""The real provider range files most end-to-end tests judge with."""


def real_store(root: Path, files: Sequence[str] = PROVIDER_FILES, geo: bool = True) -> Store:
    """A ranges store at `root` holding the real range files (and DB-IP's country data) from
    ../shared; the caller skips first when ../shared is absent."""
    store = Store(root)
    paths = [SHARED / "ranges" / n for n in files]
    paths += sorted((SHARED / "geo").glob("*.csv.gz")) if geo else []
    for path in paths:
        store.add(read_bytes(str(path)), str(path), utcnow())
    return store


def batch_of(packets: list[tuple[float, Packet | bytes]]) -> RecordBatch:
    """Frames, each at its time in seconds, as one batch of Ethernet records: what a capture
    reader yields, without a file."""
    data, offsets, lengths = columns([bytes(p) for _, p in packets])
    ts = np.array([int(t * SEC) for t, _ in packets], np.int64)
    ones = np.ones(len(packets), np.int64)
    return RecordBatch(data, offsets, lengths, lengths.copy(), ts, ones, offsets)
