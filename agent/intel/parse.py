"""One entry point from a file's kind to its parser."""

from __future__ import annotations

from collections.abc import Callable

from agent.intel.aws import parse_aws
from agent.intel.azure import parse_azure
from agent.intel.country import parse_dbip_csv, parse_mmdb
from agent.intel.gcp import parse_gcp
from agent.intel.oci import parse_oci
from agent.intel.records import RangeSet
from agent.intel.sites import parse_sites

PARSERS: dict[str, Callable[[bytes, str], RangeSet]] = {
    "oci": parse_oci,
    "aws": parse_aws,
    "azure": parse_azure,
    "gcp": parse_gcp,
    "sites": parse_sites,
    "dbip-csv": parse_dbip_csv,
    "mmdb": parse_mmdb,
}


def parse(kind: str, data: bytes, path: str) -> RangeSet:
    return PARSERS[kind](data, path)
