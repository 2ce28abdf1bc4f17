"""Every region and border group named in the real files has a place in the tables."""

from __future__ import annotations

import re
from pathlib import Path

from agent.intel.regions import (
    AWS,
    AWS_BORDER_GROUPS,
    AZURE_GOV,
    AZURE_PUBLIC,
    GCP,
    OCI,
    Place,
    aws_place,
)
from tests.intel.rows import load

TABLES = {"OCI": OCI, "AWS": AWS, "AWS_BORDER_GROUPS": AWS_BORDER_GROUPS,
          "AZURE_PUBLIC": AZURE_PUBLIC, "AZURE_GOV": AZURE_GOV, "GCP": GCP}  # fmt: skip


def test_tables_are_well_formed() -> None:
    for name, table in TABLES.items():
        for region, place in table.items():
            assert isinstance(place, Place)
            assert place.country is None or re.fullmatch("[A-Z]{2}", place.country), (name, region)
            assert place.city is None or (place.city.strip() == place.city and place.city.isascii())
            assert place.city is None or place.country is not None
    assert not AZURE_PUBLIC.keys() & AZURE_GOV.keys()


def test_every_oci_region(ranges_dir: Path) -> None:
    doc = load(ranges_dir / "oci-public_ip_ranges.json")
    assert {r["region"] for r in doc["regions"]} <= OCI.keys()


def test_every_aws_region_and_border_group(ranges_dir: Path) -> None:
    doc = load(ranges_dir / "aws-ip-ranges.json")
    entries = doc["prefixes"] + doc["ipv6_prefixes"]
    regions = {e["region"] for e in entries}
    assert len(regions) == 43
    assert regions - {"GLOBAL"} <= AWS.keys()
    groups = {e["network_border_group"] for e in entries}
    assert len(groups) == 121
    # A border group is its region, GLOBAL, or a Local/Wavelength Zone with its own place.
    assert groups - {"GLOBAL"} - AWS.keys() <= AWS_BORDER_GROUPS.keys()
    for e in entries:
        if e["region"] != "GLOBAL":
            assert aws_place(e["region"], e["network_border_group"]).country is not None
    assert aws_place("us-east-1", "us-east-1-bue-1") == ("AR", "Buenos Aires")
    assert aws_place("us-east-1", "us-east-1-lim-1") == ("PE", "Lima")
    assert aws_place("us-east-1", "us-east-1") == ("US", "Northern Virginia")
    assert aws_place(None, None) == (None, None)


def test_every_azure_region(ranges_dir: Path) -> None:
    for name, table in (("azure-servicetags-public.json", AZURE_PUBLIC),
                        ("azure-servicetags-usgov.json", AZURE_GOV)):  # fmt: skip
        doc = load(ranges_dir / name)
        assert {v["properties"]["region"] for v in doc["values"]} - {""} <= table.keys()


def test_every_gcp_scope(ranges_dir: Path) -> None:
    doc = load(ranges_dir / "gcp-cloud.json")
    assert {e["scope"] for e in doc["prefixes"]} - {"global"} <= GCP.keys()


def test_the_newer_oci_regions_too(ranges_dir: Path) -> None:
    derived = next((ranges_dir / "derived").glob("oci-cidrs-by-region-*.csv"), None)
    if derived is None:
        return
    lines = derived.read_text().splitlines()[1:]
    assert {line.split(",")[0] for line in lines} <= OCI.keys()
