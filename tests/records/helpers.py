"""Reading a shared flow record sample the way residency does: detected by content."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from agent.records import CoverageGap, FlowRecord, Item
from agent.records.batch import FlowRecordBatch
from agent.records.detect import detect_records
from agent.records.parse import parse_records

POLICY = """\
version: 1
scope:
  include:
    - local: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]
approve:
  - name: aws-us
    provider: aws
    regions: [us-east-1, us-west-2]
"""
"""Private networks are local; AWS in two US regions approved: the policy the tests judge the
flow log samples by (their addresses are private or the clouds')."""


def read(path: Path, kind: str | None = None, fields: Sequence[str] | None = None) -> list[Item]:
    data = path.read_bytes()
    found = detect_records(data)
    assert found == (kind or found) and found is not None
    return items(parse_records(data, found, str(path), fields))


def items(got: Iterable[Item | FlowRecordBatch]) -> list[Item]:
    """Batches made records, each in its place among the gaps."""
    out: list[Item] = []
    for i in got:
        out.extend(i.records() if isinstance(i, FlowRecordBatch) else [i])
    return out


def flows(got: Iterable[Item | FlowRecordBatch]) -> list[FlowRecord]:
    return [i for i in items(got) if isinstance(i, FlowRecord)]  # type: ignore[arg-type]


def gaps(got: Iterable[Item | FlowRecordBatch]) -> list[CoverageGap]:
    return [i for i in got if isinstance(i, CoverageGap)]


def tuple5(r: FlowRecord) -> tuple[int, str, int, str, int]:
    return (r.proto, r.src, r.sport, r.dst, r.dport)
