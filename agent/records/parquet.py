"""AWS flow logs delivered to S3 as Apache Parquet -> record batches and gaps.

The columns are the text format's fields with `_` for `-` (`log_status`, `pkt_srcaddr`), typed
(int32/int64/string), null for "no value". They go, a row group at a time, through the same
rules as the columns of a text log (`agent.records.aws_columns`), so the two deliveries of
one flow log cannot differ. `Where.item` is the row.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from agent.errors import CorruptRecords
from agent.records import aws
from agent.records.aws_columns import Place, read_columns
from agent.records.batch import FlowRecordBatch
from agent.records.model import CoverageGap

MAGIC = b"PAR1"


def parse_aws_parquet(data: bytes, path: str = "<data>") -> Iterator[FlowRecordBatch | CoverageGap]:
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as err:
        raise CorruptRecords(path, "offset 0", f"not a readable Parquet file: {err}") from err
    names = [n.replace("_", "-") for n in table.column_names]
    unknown = [n for n in names if n not in aws.FIELDS]
    if unknown:
        raise CorruptRecords(path, "offset 0", f"unknown column {unknown[0]!r} (not an AWS "
                             "v2-v8 flow log field)")  # fmt: skip
    form, row = aws.Format.of(names), 0
    for part in table.to_batches():
        n = part.num_rows
        items = np.arange(row, row + n, dtype=np.int64)
        zero = np.zeros(n, np.int64)
        cols = dict(zip(names, part.columns, strict=True))
        batch, gaps, damage = read_columns(form, cols, (zero, zero, items), path, _rows(row))
        if len(batch):
            yield batch
        yield from gaps
        if damage:
            raise damage
        row += n


def _rows(first: int) -> Place:
    return lambda i: f"row {first + i}"
