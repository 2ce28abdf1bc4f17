"""Azure service tags, the real public and US Government files (counts from SOURCES.md)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from agent.errors import RangeFileError
from agent.intel.azure import parse_azure
from agent.intel.oci import parse_oci
from agent.intel.records import PROVIDERS, Label, RangeSet
from agent.intel.regions import AZURE
from tests.intel.rows import by_prefix, check_columns, is_v4, load, norm, with_host_bit

PUBLIC, GOV = "azure-servicetags-public.json", "azure-servicetags-usgov.json"
# file: (changeNumber, cloud, tags, unique v4, unique v6, AzureCloud.<region> v4, v6, regions)
EXPECTED = {
    PUBLIC: (398, "Public", 3_136, 41_749, 14_976, 10_233, 3_490, 73),
    GOV: (401, "AzureGovernment", 299, 2_813, 985, 395, 149, 5),
}


@pytest.fixture(scope="module", params=[PUBLIC, GOV])
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def parsed(ranges_dir: Path) -> dict[str, tuple[bytes, Any, RangeSet]]:
    out = {}
    for name in (PUBLIC, GOV):
        data = (ranges_dir / name).read_bytes()
        out[name] = (data, load(ranges_dir / name), parse_azure(data, name))
    return out


def test_counts_and_version(name: str, parsed: dict[str, tuple[bytes, Any, RangeSet]]) -> None:
    _, doc, rs = parsed[name]
    change, cloud, tags, v4, v6, cloud_v4, cloud_v6, regions = EXPECTED[name]
    check_columns(rs)
    assert (rs.kind, rs.layer, rs.created) == ("azure", PROVIDERS, "")
    assert (rs.version, rs.slot) == (f"changeNumber={change} cloud={cloud}", cloud)
    assert len(doc["values"]) == tags
    assert (int(is_v4(rs).sum()), int((~is_v4(rs)).sum())) == (v4, v6)
    in_cloud = [
        bool(is_v4(rs)[i])
        for i, lab in enumerate(rs.label.tolist())
        if any(s.startswith("AzureCloud.") for s in rs.labels[lab].services)
    ]
    assert (in_cloud.count(True), in_cloud.count(False)) == (cloud_v4, cloud_v6)
    assert len({v["properties"]["region"] for v in doc["values"]} - {""}) == regions


Parsed = dict[str, tuple[bytes, Any, RangeSet]]


def test_every_prefix_as_the_tags_say(name: str, parsed: Parsed) -> None:
    _, doc, rs = parsed[name]
    tags: dict[str, set[str]] = defaultdict(set)
    regions: dict[str, set[str]] = defaultdict(set)
    for v in doc["values"]:
        for text in v["properties"]["addressPrefixes"]:
            tags[norm(text)].add(v["name"])
            regions[norm(text)].add(v["properties"]["region"])
    rows = by_prefix(rs)
    assert rows.keys() == tags.keys()
    only_global = 0
    for text, lab in rows.items():
        assert lab.services == tuple(sorted(tags[text]))
        said = regions[text] - {""}
        assert len(said) <= 1  # the real files never give one prefix two regions
        region = said.pop() if said else None
        assert lab.region == region
        assert (lab.country, lab.city) == (AZURE[region] if region else (None, None))
        only_global += region is None
    assert only_global > 0  # region-less prefixes exist and stay unplaced, never "US"


def test_a_regional_prefix_in_a_global_tag_keeps_its_region(
    parsed: dict[str, tuple[bytes, Any, RangeSet]],
) -> None:
    _, doc, rs = parsed[PUBLIC]
    tags = {v["name"]: v["properties"] for v in doc["values"]}
    text = next(p for p in tags["Storage.EastUS"]["addressPrefixes"]
                if p in tags["Storage"]["addressPrefixes"])  # fmt: skip
    lab = by_prefix(rs)[norm(text)]
    assert {"Storage", "Storage.EastUS"} <= set(lab.services)
    assert (lab.region, lab.country, lab.city) == ("eastus", "US", "Virginia")


def _doc(*tags: tuple[str, str, list[str]]) -> bytes:
    values = [{"name": n, "id": n, "properties": {"changeNumber": 1, "region": r,
               "regionId": 0, "platform": "Azure", "systemService": "", "addressPrefixes": p,
               "networkFeatures": None}} for n, r, p in tags]  # fmt: skip
    return json.dumps({"changeNumber": 1, "cloud": "Public", "values": values}).encode()


def test_one_prefix_in_two_regions_has_no_region() -> None:
    """The decision for a file that contradicts itself: no region is picked; country and city
    stay only where both regions are in the same one."""
    rs = parse_azure(_doc(
        ("AzureCloud.eastus", "eastus", ["20.0.0.0/24", "20.0.1.0/24"]),
        ("AzureCloud.westus", "westus", ["20.0.0.0/24"]),
        ("AzureCloud.northeurope", "northeurope", ["20.0.1.0/24"]),
        ("Storage", "", ["20.0.0.0/24"]),
    ), "t.json")  # fmt: skip
    rows = by_prefix(rs)
    assert rows["20.0.0.0/24"] == Label(
        "azure", None, ("AzureCloud.eastus", "AzureCloud.westus", "Storage"), None, "US", None
    )
    assert rows["20.0.1.0/24"] == Label(
        "azure", None, ("AzureCloud.eastus", "AzureCloud.northeurope"), None, None, None
    )


def test_bad_inputs_name_the_entry(parsed: dict[str, tuple[bytes, Any, RangeSet]]) -> None:
    data, doc, _ = parsed[GOV]

    def broken(change: Any) -> bytes:
        d = json.loads(json.dumps(doc))
        change(d)
        return json.dumps(d, indent=2).encode()

    with pytest.raises(RangeFileError, match=r"line \d+ column \d+: invalid JSON"):
        parse_azure(data[: len(data) // 3], GOV)
    i = next(i for i, v in enumerate(doc["values"])
             if i >= 3 and len(v["properties"]["addressPrefixes"]) > 2
             and not v["properties"]["addressPrefixes"][2].endswith(("/32", "/128")))  # fmt: skip
    text = doc["values"][i]["properties"]["addressPrefixes"][2]
    bad = broken(lambda d: d["values"][i]["properties"]["addressPrefixes"].__setitem__(
        2, with_host_bit(text)))  # fmt: skip
    with pytest.raises(RangeFileError) as err:
        parse_azure(bad, GOV)
    assert err.value.where == f"values[{i}].properties.addressPrefixes[2]"
    assert err.value.reason.startswith("host bits set")
    bad = broken(lambda d: d["values"][3]["properties"].pop("region"))
    with pytest.raises(RangeFileError) as err:
        parse_azure(bad, GOV)
    assert str(err.value) == f"{GOV}: values[3].properties: missing field 'region'"
    bad = broken(lambda d: d.pop("cloud"))
    with pytest.raises(RangeFileError, match="top level: missing field 'cloud'"):
        parse_azure(bad, GOV)


def test_azure_file_given_to_the_oci_parser(parsed: dict[str, tuple[bytes, Any, RangeSet]]) -> None:
    with pytest.raises(RangeFileError, match="this is an Azure service tags file, not an Oracle"):
        parse_oci(parsed[GOV][0], GOV)
