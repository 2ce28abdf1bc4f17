"""OCI public_ip_ranges.json, the real file (counts from shared/ranges/SOURCES.md)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from agent.errors import RangeFileError
from agent.intel.aws import parse_aws
from agent.intel.oci import parse_oci
from agent.intel.records import PROVIDERS, RangeSet
from agent.intel.regions import OCI
from tests.intel.rows import by_prefix, check_columns, is_v4, norm, with_host_bit

NAME = "oci-public_ip_ranges.json"


PARSER = parse_oci


def test_counts_and_version(rs: RangeSet, doc: Any) -> None:
    check_columns(rs)
    assert (rs.kind, rs.layer, rs.slot) == ("oci", PROVIDERS, "")
    assert rs.version == "last_updated_timestamp=2025-07-31T18:18:01.103975"
    assert rs.created == "2025-07-31T18:18:01.103975+00:00"
    assert len(doc["regions"]) == 48
    assert len(rs) == 972 and bool(is_v4(rs).all())
    assert len({lab.region for lab in rs.labels}) == 48
    tags = Counter(t for i in rs.label.tolist() for t in rs.labels[i].services)
    assert tags == {"OCI": 503, "OSN": 469, "OBJECT_STORAGE": 50}
    assert all("OSN" in lab.services for lab in rs.labels if "OBJECT_STORAGE" in lab.services)


def test_every_entry_as_the_file_says(rs: RangeSet, doc: Any) -> None:
    rows = by_prefix(rs)
    for reg in doc["regions"]:
        for entry in reg["cidrs"]:
            lab = rows[norm(entry["cidr"])]
            assert (lab.provider, lab.region) == ("oci", reg["region"])
            assert lab.services == tuple(sorted(entry["tags"]))
            assert (lab.country, lab.city) == OCI[reg["region"]]
    ashburn = next(r for r in doc["regions"] if r["region"] == "us-ashburn-1")
    lab = rows[norm(ashburn["cidrs"][0]["cidr"])]
    assert (lab.country, lab.city) == ("US", "Ashburn")


def _broken(doc: Any, change: Any) -> bytes:
    doc = json.loads(json.dumps(doc))
    change(doc)
    return json.dumps(doc, indent=4).encode()


def test_bad_inputs_name_the_entry(data: bytes, doc: Any) -> None:
    with pytest.raises(RangeFileError, match=r"^oci-public_ip_ranges.json: line \d+ column \d+"):
        parse_oci(data[:-200], NAME)
    bad = _broken(doc, lambda d: d["regions"][2]["cidrs"][4].pop("tags"))
    with pytest.raises(RangeFileError) as err:
        parse_oci(bad, NAME)
    assert str(err.value) == f"{NAME}: regions[2].cidrs[4]: missing field 'tags'"
    text = doc["regions"][1]["cidrs"][3]["cidr"]
    bad = _broken(doc, lambda d: d["regions"][1]["cidrs"][3].update(cidr=with_host_bit(text)))
    with pytest.raises(RangeFileError, match=r"regions\[1\].cidrs\[3\].cidr: host bits set"):
        parse_oci(bad, NAME)
    bad = _broken(doc, lambda d: d.update(last_updated_timestamp="yesterday"))
    with pytest.raises(RangeFileError, match="last_updated_timestamp: not a timestamp"):
        parse_oci(bad, NAME)


def test_oci_file_given_to_the_aws_parser(data: bytes) -> None:
    with pytest.raises(RangeFileError, match="this is an Oracle Cloud .* not an AWS"):
        parse_aws(data, NAME)
