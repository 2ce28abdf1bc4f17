"""AWS flow logs delivered to S3 as Apache Parquet -> FlowRecords and gaps.

The columns are the text format's fields with `_` for `-` (`log_status`, `pkt_srcaddr`), typed
(int32/int64/string), null for "no value". Each row is read by the same rules as a text record
(`agent.records.aws`), so the two deliveries of one flow log cannot differ. `Where.item` is the
row. Needs pyarrow (`pip install 'residency[parquet]'`); without it a Parquet file is one clear
error, not a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator

from agent.errors import CorruptRecords
from agent.records import aws
from agent.records.model import Item, Where

MAGIC = b"PAR1"


def parse_aws_parquet(data: bytes, path: str = "<data>") -> Iterator[Item]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as err:
        raise CorruptRecords(path, "offset 0", "a Parquet flow log needs pyarrow: "
                             "pip install 'residency[parquet]'") from err  # fmt: skip
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
    for batch in table.to_batches():
        columns = [["-" if v is None else str(v) for v in c.to_pylist()] for c in batch.columns]
        for values in zip(*columns, strict=True):
            try:
                yield from form.items(values, Where(item=row), "")
            except ValueError as err:
                raise CorruptRecords(path, f"row {row}", str(err)) from err
            row += 1
