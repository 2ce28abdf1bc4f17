"""AWS ip-ranges.json, the real file (counts from shared/ranges/SOURCES.md)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest

from agent.errors import RangeFileError
from agent.intel.aws import parse_aws
from agent.intel.gcp import parse_gcp
from agent.intel.records import PROVIDERS, RangeSet
from tests.intel.rows import by_prefix, check_columns, is_v4, norm, with_host_bit

NAME = "aws-ip-ranges.json"


PARSER = parse_aws


def entries(doc: Any) -> list[tuple[str, dict[str, str]]]:
    return [(norm(e["ip_prefix"]), e) for e in doc["prefixes"]] + [
        (norm(e["ipv6_prefix"]), e) for e in doc["ipv6_prefixes"]
    ]


def test_counts_and_version(rs: RangeSet, doc: Any) -> None:
    check_columns(rs)
    assert (rs.kind, rs.layer, rs.slot) == ("aws", PROVIDERS, "")
    assert rs.version == "syncToken=1787411825" == f"syncToken={doc['syncToken']}"
    assert rs.created == "2026-08-22T15:17:05+00:00"
    assert (len(doc["prefixes"]), len(doc["ipv6_prefixes"])) == (10_668, 6_160)
    assert (int(is_v4(rs).sum()), int((~is_v4(rs)).sum())) == (7_905, 3_108)
    assert len({e["service"] for _, e in entries(doc)}) == 28


def test_each_prefix_is_one_row_with_all_its_services(rs: RangeSet, doc: Any) -> None:
    services: dict[str, set[str]] = defaultdict(set)
    for text, e in entries(doc):
        services[text].add(e["service"])
    rows = by_prefix(rs)
    assert rows.keys() == services.keys()
    for text, said in services.items():
        assert rows[text].services == tuple(sorted(said)), text
    assert any(len(s) > 2 for s in services.values())  # the merge is really exercised


def test_regions_border_groups_and_places(rs: RangeSet, doc: Any) -> None:
    rows = by_prefix(rs)
    for text, e in entries(doc):
        lab = rows[text]
        assert lab.provider == "aws"
        if e["region"] == "GLOBAL":
            assert (lab.region, lab.country, lab.city) == (None, None, None), text
        else:
            assert lab.region == e["region"]
            assert lab.border_group == e["network_border_group"]


def test_local_zone_is_placed_where_it_is(rs: RangeSet, doc: Any) -> None:
    rows = by_prefix(rs)
    bue = [t for t, e in entries(doc) if e["network_border_group"] == "us-east-1-bue-1"]
    assert bue
    for text in bue:
        lab = rows[text]
        assert (lab.region, lab.border_group) == ("us-east-1", "us-east-1-bue-1")
        assert (lab.country, lab.city) == ("AR", "Buenos Aires")
    plain = next(t for t, e in entries(doc) if e["network_border_group"] == "us-east-1")
    assert (rows[plain].country, rows[plain].city) == ("US", "Northern Virginia")


def _broken(doc: Any, change: Any) -> bytes:
    doc = json.loads(json.dumps(doc))
    change(doc)
    return json.dumps(doc).encode()


def test_truncated_file(data: bytes) -> None:
    with pytest.raises(RangeFileError, match=r"^aws-ip-ranges.json: line \d+ column \d+: invalid "
                                             r"JSON: .*\(the file looks cut off\)$"):  # fmt: skip
        parse_aws(data[: len(data) // 2], NAME)


def test_missing_field_names_the_entry(doc: Any) -> None:
    bad = _broken(doc, lambda d: d["prefixes"][17].pop("ip_prefix"))
    with pytest.raises(RangeFileError) as err:
        parse_aws(bad, NAME)
    assert str(err.value) == "aws-ip-ranges.json: prefixes[17]: missing field 'ip_prefix'"
    bad = _broken(doc, lambda d: d["ipv6_prefixes"][5].pop("network_border_group"))
    with pytest.raises(RangeFileError, match=r"ipv6_prefixes\[5\]: missing field 'network_b"):
        parse_aws(bad, NAME)
    bad = _broken(doc, lambda d: d.pop("syncToken"))
    with pytest.raises(RangeFileError, match="top level: missing field 'syncToken'"):
        parse_aws(bad, NAME)
    bad = _broken(doc, lambda d: d["prefixes"][3].update(service=7))
    with pytest.raises(RangeFileError, match=r"prefixes\[3\].service: expected a string, found"):
        parse_aws(bad, NAME)


def test_host_bits_name_the_entry(doc: Any) -> None:
    prefixes = doc["prefixes"]
    i = next(i for i, e in enumerate(prefixes) if i >= 17 and not e["ip_prefix"].endswith("/32"))
    text = doc["prefixes"][i]["ip_prefix"]
    bad = _broken(doc, lambda d: d["prefixes"][i].update(ip_prefix=with_host_bit(text)))
    with pytest.raises(RangeFileError) as err:
        parse_aws(bad, NAME)
    assert err.value.where == f"prefixes[{i}].ip_prefix"
    assert "host bits set" in err.value.reason


def test_wrong_family(doc: Any) -> None:
    bad = _broken(doc, lambda d: d["prefixes"][0].update(ip_prefix="2001:db8::/32"))
    with pytest.raises(RangeFileError, match=r"prefixes\[0\].ip_prefix: address of the wrong"):
        parse_aws(bad, NAME)


def test_aws_file_given_to_the_gcp_parser(data: bytes) -> None:
    with pytest.raises(RangeFileError) as err:
        parse_gcp(data, NAME)
    assert str(err.value) == (
        "aws-ip-ranges.json: this is an AWS ip-ranges.json file, not a Google Cloud cloud.json file"
    )
