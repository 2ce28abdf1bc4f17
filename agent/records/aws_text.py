"""AWS flow logs as text (S3 delivery, gunzipped before here) -> record batches and gaps.

The file is cut at its header lines (S3 writes one, and again after each part; each decides the
format from there on, by name), and each part is read in one pass by Arrow's CSV reader into
columns of text, which `agent.records.aws_columns` checks and converts, column by column.
Values are separated by runs of white space: a file written with single spaces (as AWS writes
them) is read as it stands; a part that read so gives empty values or lines of the wrong length
and has other spacing is rewritten line by line and read again (its lines and byte offsets
still name the original). A line with more or fewer values than the format has fields
ends the reading there, with its line, after the records before it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as csv

from agent.errors import CorruptRecords
from agent.records import aws
from agent.records.aws_columns import Place, read_columns
from agent.records.batch import FlowRecordBatch
from agent.records.model import CoverageGap

Out = FlowRecordBatch | CoverageGap
_ODD_SPACING = re.compile(rb"[ \t\r\f\v]{2,}|\t|^[ \t]|[ \t]$", re.M)
"""Anything but single spaces between values (a `\\r` before the newline is fine on its own)."""


def parse_aws_text(
    data: bytes, path: str = "<data>", fields: Sequence[str] | None = None, vantage: str = ""
) -> Iterator[Out]:
    """Record batches and gaps, a part of the file (between header lines) at a time. `fields`
    is a declared format (a header line overrides it from that line on); `vantage` names the
    interface where the format has no field for it."""
    starts = _line_starts(data)
    form = aws.Format.of(fields or aws.V2_FIELDS)
    begin = 0
    for at in _headers(data, starts):
        yield from _part(data, starts, begin, at, form, path, vantage)
        end = starts[at + 1] if at + 1 < len(starts) else len(data)
        header = data[starts[at] : end].decode("utf-8", "replace")
        try:
            form = aws.Format.of(aws.parse_format(header, f"line {at + 1}"))
        except ValueError as err:
            raise CorruptRecords(path, f"line {at + 1}", str(err).split(": ", 1)[1]) from err
        begin = at + 1
    yield from _part(data, starts, begin, len(starts), form, path, vantage)


def parse_aws_lines(lines: Iterable[bytes], path: str = "<data>",
                    fields: Sequence[str] | None = None) -> Iterator[Out]:  # fmt: skip
    """The same, of lines given one by one (with or without their newlines)."""
    data = b"".join(line if line.endswith(b"\n") else line + b"\n" for line in lines)
    return parse_aws_text(data, path, fields)


def _line_starts(data: bytes) -> npt.NDArray[np.int64]:
    ends = np.flatnonzero(np.frombuffer(data, np.uint8) == 10) + 1
    starts = np.concatenate([[0], ends]).astype(np.int64)
    return starts[:-1] if len(data) and starts[-1] == len(data) else starts


def _headers(data: bytes, starts: npt.NDArray[np.int64]) -> Iterator[int]:
    """The lines (0-based) whose first value is a field name: every name starts with a small
    letter, so only lines that do are looked at."""
    if not len(data):
        return
    head = np.frombuffer(data, np.uint8)[starts]
    for at in np.flatnonzero((head >= ord("a")) & (head <= ord("z"))).tolist():
        first = data[starts[at] : starts[at] + 40].split(None, 1)[0].decode("utf-8", "replace")
        if first in aws.FIELDS:
            yield at


def _part(data: bytes, starts: npt.NDArray[np.int64], begin: int, end: int, form: aws.Format,
          path: str, vantage: str) -> Iterator[Out]:  # fmt: skip
    """Lines [begin, end) under one format."""
    if begin >= end:
        return
    lo, hi = int(starts[begin]), int(starts[end]) if end < len(starts) else len(data)
    text = data[lo:hi]
    if not text.strip():
        return
    if not text.isascii():  # bytes that are not UTF-8 are replaced, as when read as text
        text = text.decode("utf-8", "replace").encode()
    invalid: list[tuple[int, int]] = []
    table = _csv(text, form, invalid)
    if (invalid or _blank_values(table)) and _ODD_SPACING.search(text):
        text = b"\n".join(b" ".join(line.split()) for line in text.split(b"\n"))
        invalid.clear()
        table = _csv(text, form, invalid)
    lines = begin + _filled(text)
    count = invalid[0][0] if invalid else table.num_rows
    cols = {name: table.column(name).combine_chunks()[:count] for name in form.names}
    where = (lines[:count] + 1, starts[lines[:count]], np.full(count, -1, np.int64))
    place: Place = lambda i: f"line {lines[i] + 1}"  # noqa: E731
    batch, gaps, damage = read_columns(form, cols, where, path, place, vantage)
    if len(batch):
        yield batch
    yield from gaps
    if damage:
        raise damage
    if invalid:
        raise CorruptRecords(path, f"line {lines[count] + 1}", form.too(invalid[0][1]))


def _blank_values(table: pa.Table) -> bool:
    """Whether some value is empty: two spaces in a row, as single spaces read them."""
    return any(pc.any(pc.equal(c, "")).as_py() for c in table.columns)


def _filled(text: bytes) -> npt.NDArray[np.int64]:
    """The lines (0-based) of `text` that hold a value, the CSV reader's rows one each: all
    but the empty ones (a lone `\\r` is empty)."""
    starts = _line_starts(text)
    ends = np.append(starts[1:] - 1, len(text))
    buf = np.frombuffer(text, np.uint8)
    size = ends - starts
    lone_cr = (size == 1) & (buf[np.minimum(starts, len(buf) - 1)] == 13) if len(buf) else size > 0
    return np.flatnonzero((size > 0) & ~lone_cr)


def _csv(text: bytes, form: aws.Format, invalid: list[tuple[int, int]]) -> pa.Table:
    """Every value as text (`-` as null); `invalid` gets the first row (0-based, in rows) of
    a wrong number of values and its count; that row and all after it are not to be used."""
    def handler(row: csv.InvalidRow) -> str:
        if not invalid:
            invalid.append(((row.number or 1) - 1, row.actual_columns))
        return "skip"

    return csv.read_csv(
        pa.BufferReader(text),
        read_options=csv.ReadOptions(column_names=list(form.names), use_threads=False,
                                     block_size=max(1 << 20, len(text) + 1)),
        parse_options=csv.ParseOptions(delimiter=" ", quote_char=False, escape_char=False,
                                       invalid_row_handler=handler),
        convert_options=csv.ConvertOptions(column_types=dict.fromkeys(form.names, pa.string()),
                                           null_values=["-"], strings_can_be_null=True),
    )  # fmt: skip
