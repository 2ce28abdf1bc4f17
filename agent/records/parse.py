"""One entry point for every flow record kind: bytes (already gunzipped) in, record batches
and coverage gaps out, in file order; a damaged record raises CorruptRecords after what came
before it was given. Sans-IO: `agent.records.source` is the edge that opens files.

AWS text and Parquet are read as columns; the JSON kinds (and Zeek) make one `FlowRecord`
each, gathered here into batches of at most `BATCH`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from agent.errors import CorruptRecords
from agent.records.azure import parse_azure_nsg, parse_azure_vnet
from agent.records.batch import FlowRecordBatch
from agent.records.gcp import parse_gcp
from agent.records.model import CoverageGap, FlowRecord, Item
from agent.records.oci import parse_oci
from agent.records.zeek import parse_zeek_json, parse_zeek_tsv

Out = FlowRecordBatch | CoverageGap
BATCH = 65536


def parse_records(
    data: bytes, kind: str, path: str = "<data>", fields: Sequence[str] | None = None
) -> Iterator[Out]:
    """`fields` is a declared AWS format (`--format`); the other kinds describe themselves.
    The AWS readers (Arrow's) are imported when first used: a command that reads none does
    not load Arrow."""
    from agent.records.aws_text import parse_aws_text
    from agent.records.cloudwatch import parse_cloudwatch
    from agent.records.parquet import parse_aws_parquet

    if kind == "aws-text":
        return parse_aws_text(data, path, fields)
    if kind == "aws-parquet":
        return parse_aws_parquet(data, path)
    if kind == "aws-cloudwatch":
        return parse_cloudwatch(data, path, fields)
    if kind in ("zeek-tsv", "zeek-json"):
        lines = data.splitlines(keepends=True)
        parse = parse_zeek_tsv if kind == "zeek-tsv" else parse_zeek_json
        return batched(parse(lines, path), path)
    return batched(JSON_PARSERS[kind](data, path), path)


LIMIT = 1 << 63
"""Counts, ports and times are held as int64: a value this large is damage, not traffic."""


def batched(items: Iterator[Item], path: str) -> Iterator[Out]:
    """Records gathered into batches (of one source each), gaps as they come; on damage, the
    records before it are given first."""
    held: list[FlowRecord] = []
    try:
        for item in items:
            if isinstance(item, CoverageGap):
                yield item
                continue
            if max(item.packets, item.bytes, item.packets_rev, item.bytes_rev, item.first_ns,
                   item.last_ns, item.sport, item.dport, item.proto) >= LIMIT:  # fmt: skip
                raise CorruptRecords(path, str(item.where), "a count, port or time does not "
                                     "fit in 64 bits")  # fmt: skip
            if held and (len(held) >= BATCH or held[0].source != item.source):
                yield FlowRecordBatch.of(held)
                held = []
            held.append(item)
    except CorruptRecords:
        if held:
            yield FlowRecordBatch.of(held)
        raise
    if held:
        yield FlowRecordBatch.of(held)


JSON_PARSERS: dict[str, Callable[[bytes, str], Iterator[Item]]] = {
    "oci-vcn": parse_oci, "gcp-vpc": parse_gcp,
    "azure-vnet": parse_azure_vnet, "azure-nsg": parse_azure_nsg,
}  # fmt: skip
