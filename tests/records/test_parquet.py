"""AWS Parquet delivery: the real text samples written as AWS types them in Parquet, read back
to the same records."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from agent.errors import CorruptRecords
from agent.records import aws
from agent.records.detect import detect_records
from agent.records.parquet import parse_aws_parquet
from agent.records.parse import parse_records
from tests.records.helpers import items

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

INTS = {"version", "srcport", "dstport", "protocol", "tcp-flags"}
LONGS = {"packets", "bytes", "start", "end"}


def as_parquet(text: bytes) -> bytes:
    lines = [x.split() for x in text.splitlines() if x.strip()]
    names = [n for n in lines[0]]
    rows = [r for r in lines[1:] if not aws.is_header([t.decode() for t in r])]
    columns = {}
    for i, name in enumerate(n.decode() for n in names):
        raw = [None if r[i] == b"-" else r[i].decode() for r in rows]
        kind = pa.int32() if name in INTS else pa.int64() if name in LONGS else pa.string()
        values = [None if v is None else int(v) if kind != pa.string() else v for v in raw]
        columns[name.replace("-", "_")] = pa.array(values, type=kind)
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table(columns), sink)
    return bytes(sink.getvalue().to_pybytes())


@pytest.mark.parametrize(
    "name",
    ["elastic-integrations__test-tcp-flag-sequence.log", "otel-contrib__valid_vpc_flow_log_ecs.log",
     "otel-contrib__valid_tgw_flow_log.log", "otel-contrib__valid_vpc_flow_log_multi.log"],
)  # fmt: skip
def test_parquet_gives_the_records_of_the_text(flowlogs: Path, name: str) -> None:
    text = (flowlogs / "aws-vpc" / name).read_bytes()
    data = as_parquet(text)
    assert detect_records(data) == "aws-parquet"
    plain = [dataclasses.replace(i, where=None) for i in items(parse_records(text, "aws-text"))]
    got = items(parse_records(data, "aws-parquet"))
    assert [dataclasses.replace(i, where=None) for i in got] == plain and plain
    assert [i.where.item for i in got] == list(range(len(got)))


def test_a_damaged_parquet_file_is_one_error() -> None:
    with pytest.raises(CorruptRecords, match=r"p.parquet: offset 0: not a readable Parquet file"):
        list(parse_aws_parquet(b"PAR1" + b"\0" * 20, "p.parquet"))
