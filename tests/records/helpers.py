"""Reading a shared flow record sample the way residency does: detected by content."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agent.records import CoverageGap, FlowRecord, Item
from agent.records.detect import detect_records
from agent.records.parse import parse_records


def read(path: Path, kind: str | None = None, fields: Sequence[str] | None = None) -> list[Item]:
    data = path.read_bytes()
    found = detect_records(data)
    assert found == (kind or found) and found is not None
    return list(parse_records(data, found, str(path), fields))


def flows(items: list[Item]) -> list[FlowRecord]:
    return [i for i in items if isinstance(i, FlowRecord)]


def gaps(items: list[Item]) -> list[CoverageGap]:
    return [i for i in items if isinstance(i, CoverageGap)]


def tuple5(r: FlowRecord) -> tuple[int, str, int, str, int]:
    return (r.proto, r.src, r.sport, r.dst, r.dport)
