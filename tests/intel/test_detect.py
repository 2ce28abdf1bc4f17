"""Range files are recognised by content: every shared file, cut-off files, and what is none."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from agent.errors import RangeFileError
from agent.intel.detect import detect_kind
from tests.intel.mmdb_writer import write_mmdb

RANGES = {
    "oci-public_ip_ranges.json": "oci",
    "aws-ip-ranges.json": "aws",
    "azure-servicetags-public.json": "azure",
    "azure-servicetags-usgov.json": "azure",
    "gcp-cloud.json": "gcp",
}
SITES = Path(__file__).resolve().parents[2] / "rules" / "sites.yaml"


@pytest.mark.parametrize(("name", "kind"), RANGES.items())
def test_provider_files(ranges_dir: Path, name: str, kind: str) -> None:
    data = (ranges_dir / name).read_bytes()
    assert detect_kind(data, name) == kind
    # Cut off, the file is no JSON any more, but still goes to its own parser to be reported.
    assert detect_kind(data[: len(data) // 2], name) == kind
    assert detect_kind(data[:3000], name) == kind


@pytest.mark.parametrize("name", ["dbip-country-ipv4.csv.gz", "dbip-country-ipv6.csv.gz"])
def test_dbip_files(geo_dir: Path, name: str) -> None:
    packed = (geo_dir / name).read_bytes()
    assert detect_kind(gzip.decompress(packed), name) == "dbip-csv"
    with pytest.raises(RangeFileError, match="gzip-compressed data: decompress it first"):
        detect_kind(packed, name)


def test_sites_and_mmdb() -> None:
    assert detect_kind(SITES.read_bytes(), str(SITES)) == "sites"
    assert detect_kind(b"# header\nversion: 1\nsites:\n  - name: a\n") == "sites"
    assert detect_kind(write_mmdb([("1.0.0.0/24", {"country_code": "AU"})])) == "mmdb"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "not a file residency knows"),
        (b"hello\n", "not a file residency knows"),
        (b"start,end,country\n1.0.0.0,1.0.0.255,AU\n", "not a file residency knows"),
        (b'{"name": "x"}', "JSON, but not the range file of OCI, AWS, Azure or GCP"),
        (b'{"syncToken": "1", "prefixes": []}', "JSON, but not the range file"),
        (b"[1, 2]", "JSON, but not the range file"),
        (b'{"regions": [], "values": []}', "JSON, but not the range file"),
    ],
)
def test_what_is_no_range_file(data: bytes, reason: str) -> None:
    with pytest.raises(RangeFileError, match=reason) as err:
        detect_kind(data, "x.bin")
    assert str(err.value).startswith("x.bin: ")
