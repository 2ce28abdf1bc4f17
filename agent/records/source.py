"""Opening a flow record file: the edge that reads bytes (gzip, xz and zstd seen through, as
for captures), finds the kind by content and hands the bytes to the sans-IO parsers. A capture
that holds only NetFlow, IPFIX or sFlow export datagrams is a record file too (`exports`): its
datagrams go to one collector for all the files read together, so templates carry over."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, cast

from agent.capture.compressed import DAMAGE, decompressed
from agent.errors import CaptureError, CorruptCapture, CorruptRecords, InputError
from agent.files import open_input, while_unchanged
from agent.records.batch import FlowRecordBatch
from agent.records.detect import HEAD, detect_records
from agent.records.join import Joined, join_batches
from agent.records.model import CoverageGap
from agent.records.parse import parse_records

if TYPE_CHECKING:  # export captures are rare: their collector loads when one is read
    from agent.records.netflow import Collector

EXPORTS = "exports"
"""The kind of a capture of export datagrams."""


@dataclass(slots=True)
class RecordFile:
    """What one file held: its records (as batches) and coverage gaps, and the damage that
    stopped the reading (what came before it stands)."""

    path: str
    kind: str
    size: int
    """Bytes read, uncompressed."""
    batches: list[FlowRecordBatch] = field(default_factory=list)
    gaps: list[CoverageGap] = field(default_factory=list)
    error: CorruptRecords | None = None
    sha256: str = ""
    """Of the file as stored (compressed or not), so a re-run can prove it read the same."""

    @property
    def records(self) -> int:
        return sum(len(b) for b in self.batches)


@dataclass(slots=True)
class RecordRead:
    """Several record files read together: the same connection in two of them is one flow."""

    files: list[RecordFile]
    joined: Joined


def read_records(paths: Sequence[str], fields: Sequence[str] | None = None) -> RecordRead:
    from agent.records.netflow import Collector

    collector = Collector()
    files = [read_record_file(p, fields, collector) for p in paths]
    tagged = [(n, b) for n, f in enumerate(files) for b in f.batches]
    joined = join_batches([b for _, b in tagged], [n for n, _ in tagged],
                          (g for f in files for g in f.gaps))  # fmt: skip
    return RecordRead(files, joined)


@while_unchanged
def record_kind(path: str) -> str | None:
    """The flow record kind of a file, None when it is not one (a capture, say)."""
    if path == "-":
        return None
    try:
        kind = detect_records(_read(path, HEAD))
    except (CorruptRecords, InputError):
        return None
    return kind or (EXPORTS if _exports(path) else None)


def _exports(path: str) -> frozenset[int] | None:
    from agent.records.netflow.offline import export_ports

    try:
        return export_ports(path)
    except (CaptureError, InputError):
        return None


def records_first_ns(path: str) -> int | None:
    """The earliest first time of a record file's records (None: none, or unreadable), to
    date the traffic before it is judged."""
    try:
        got = read_record_file(path)
    except (CorruptRecords, InputError):
        return None
    return min((int(b.rows["first_ns"].min()) for b in got.batches if len(b)), default=None)


def read_record_file(path: str, fields: Sequence[str] | None = None,
                     collector: Collector | None = None) -> RecordFile:  # fmt: skip
    data = _read(path)
    kind = detect_records(data)
    ports = None if kind else _exports(path)
    if ports:
        from agent.records.netflow import Collector
        from agent.records.netflow.source import EXPORT_PORTS

        return _exported(path, len(data), ports | EXPORT_PORTS, collector or Collector())
    if kind is None:
        raise CorruptRecords(path, "offset 0", "not a flow record file residency reads")
    out = RecordFile(path, kind, len(data), sha256=_sha256(path))
    try:
        for item in parse_records(data, kind, path, fields):
            (out.gaps if isinstance(item, CoverageGap) else out.batches).append(item)  # type: ignore[arg-type]
    except CorruptRecords as err:
        out.error = err
    return out


def _exported(path: str, size: int, ports: frozenset[int], collector: Collector) -> RecordFile:
    from agent.records.netflow.offline import exported_records

    out = RecordFile(path, EXPORTS, size, sha256=_sha256(path))
    try:
        out.batches.extend(exported_records(path, collector, ports))
    except CorruptCapture as err:
        out.error = CorruptRecords(path, f"offset {err.offset}", err.reason, err.offset)
    return out


def _sha256(path: str) -> str:
    with open_input(path) as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _read(path: str, limit: int = -1) -> bytes:
    with open_input(path) as raw:
        stream, compression = decompressed(cast(BinaryIO, raw), raw.peek(6)[:6])
        try:
            return stream.read(limit)
        except DAMAGE as err:
            if not compression:
                raise InputError(f"{path}: read failed: {err}") from err
            reason = f"{compression} stream is damaged: {err}"
            raise CorruptRecords(path, "offset 0", reason) from err
