"""One entry point for every flow record kind: bytes (already gunzipped) in, records and
coverage gaps out, in file order; a damaged record raises CorruptRecords after the items before
it were given. Sans-IO: `agent.records.source` is the edge that opens files."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from agent.records.aws import parse_aws_lines
from agent.records.azure import parse_azure_nsg, parse_azure_vnet
from agent.records.cloudwatch import parse_cloudwatch
from agent.records.gcp import parse_gcp
from agent.records.model import Item
from agent.records.oci import parse_oci
from agent.records.parquet import parse_aws_parquet
from agent.records.zeek import parse_zeek_json, parse_zeek_tsv


def parse_records(
    data: bytes, kind: str, path: str = "<data>", fields: Sequence[str] | None = None
) -> Iterator[Item]:
    """`fields` is a declared AWS format (`--format`); the other kinds describe themselves."""
    if kind in ("aws-text", "zeek-tsv", "zeek-json"):
        lines = data.splitlines(keepends=True)
        if kind == "aws-text":
            return parse_aws_lines(lines, path, fields)
        return (parse_zeek_tsv if kind == "zeek-tsv" else parse_zeek_json)(lines, path)
    if kind == "aws-parquet":
        return parse_aws_parquet(data, path)
    if kind == "aws-cloudwatch":
        return parse_cloudwatch(data, path, fields)
    return JSON_PARSERS[kind](data, path)


JSON_PARSERS: dict[str, Callable[[bytes, str], Iterator[Item]]] = {
    "oci-vcn": parse_oci, "gcp-vpc": parse_gcp,
    "azure-vnet": parse_azure_vnet, "azure-nsg": parse_azure_nsg,
}  # fmt: skip
