"""AWS flow log records inside JSON: a CloudWatch Logs subscription payload (`messageType`
`DATA_MESSAGE`, the interface in `logStream`, one record per `logEvents[].message`; gzipped
when delivered, ungzipped before here) and Firehose-style `{"message": "..."}` lines. The
records are read by the same rules as text (`agent.records.aws`): a payload has no header, so
the format is declared or the v2 default."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pyarrow as pa

from agent.errors import CorruptRecords
from agent.records import aws
from agent.records.aws_columns import read_columns
from agent.records.batch import FlowRecordBatch
from agent.records.fields import Bad, json_documents, need
from agent.records.model import CoverageGap, Where

Message = tuple[list[str], Where]


def parse_cloudwatch(
    data: bytes, path: str = "<data>", fields: Sequence[str] | None = None
) -> Iterator[FlowRecordBatch | CoverageGap]:
    form = aws.Format.of(fields or aws.V2_FIELDS)
    for line, doc in json_documents(data, path):
        try:
            messages, stream = _document(doc, line)
        except Bad as err:
            raise CorruptRecords(path, f"line {line}", str(err)) from err
        yield from _read(form, messages, stream, path)


def _document(doc: object, line: int) -> tuple[list[Message], str]:
    """The record lines of one document, each with its place, and the log stream."""
    if isinstance(doc, dict) and "message" in doc and "logEvents" not in doc:
        return [(need(doc, "message", str, "").split(), Where(line=line))], ""
    if need(doc, "messageType", str, "") != "DATA_MESSAGE":
        return [], ""  # CONTROL_MESSAGE: CloudWatch checking the subscription, no records
    stream = need(doc, "logStream", str, "")
    events = need(doc, "logEvents", list, "")
    return [(need(e, "message", str, f"logEvents[{i}]").split(), Where(line=line, item=i))
            for i, e in enumerate(events)], stream  # fmt: skip


def _read(form: aws.Format, messages: list[Message], stream: str,
          path: str) -> Iterator[FlowRecordBatch | CoverageGap]:  # fmt: skip
    records = [(t, w) for t, w in messages if not aws.is_header(t)]
    width = len(form.names)
    cut = next((i for i, (t, _) in enumerate(records) if len(t) != width), len(records))
    good = records[:cut]
    columns = list(zip(*(t for t, _ in good), strict=True)) or [()] * width
    cols = {name: pa.array([None if v == "-" else v for v in values], pa.string())
            for name, values in zip(form.names, columns, strict=True)}  # fmt: skip
    where = tuple(np.array([getattr(w, k) for _, w in good], np.int64)
                  for k in ("line", "offset", "item"))  # fmt: skip
    batch, gaps, damage = read_columns(form, cols, where, path, lambda i: str(good[i][1]), stream)  # type: ignore[arg-type]
    if len(batch):
        yield batch
    yield from gaps
    if damage:
        raise damage
    if cut < len(records):
        tokens, w = records[cut]
        raise CorruptRecords(path, str(w), form.too(len(tokens)))
