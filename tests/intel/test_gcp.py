"""Google Cloud cloud.json, the real file (counts from shared/ranges/SOURCES.md)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent.errors import RangeFileError
from agent.intel.azure import parse_azure
from agent.intel.gcp import parse_gcp
from agent.intel.records import PROVIDERS, RangeSet
from agent.intel.regions import GCP
from tests.intel.rows import by_prefix, check_columns, is_v4, norm, with_host_bit

NAME = "gcp-cloud.json"


PARSER = parse_gcp


def test_counts_and_version(rs: RangeSet, doc: Any) -> None:
    check_columns(rs)
    assert (rs.kind, rs.layer, rs.slot) == ("gcp", PROVIDERS, "")
    assert rs.version == "syncToken=1778033048194"
    assert rs.created == "2026-05-05T19:04:08.194918+00:00"
    assert len(doc["prefixes"]) == len(rs) == 937
    assert (int(is_v4(rs).sum()), int((~is_v4(rs)).sum())) == (889, 48)
    assert len({e["scope"] for e in doc["prefixes"]}) == 48


def test_every_entry_as_the_file_says(rs: RangeSet, doc: Any) -> None:
    rows = by_prefix(rs)
    for e in doc["prefixes"]:
        lab = rows[norm(e.get("ipv4Prefix") or e["ipv6Prefix"])]
        assert (lab.provider, lab.services) == ("gcp", (e["service"],))
        if e["scope"] == "global":
            assert (lab.region, lab.country, lab.city) == (None, None, None)
        else:
            assert lab.region == e["scope"]
            assert (lab.country, lab.city) == GCP[e["scope"]]
    east4 = next(e for e in doc["prefixes"] if e["scope"] == "us-east4")
    assert rows[norm(east4.get("ipv4Prefix") or east4["ipv6Prefix"])].city == "Ashburn"


def _broken(doc: Any, change: Any) -> bytes:
    doc = json.loads(json.dumps(doc))
    change(doc)
    return json.dumps(doc).encode()


def test_bad_inputs_name_the_entry(data: bytes, doc: Any) -> None:
    with pytest.raises(RangeFileError, match=r"line \d+ column \d+: invalid JSON.*cut off"):
        parse_gcp(data[:5000], NAME)
    bad = _broken(doc, lambda d: d["prefixes"][9].pop("scope"))
    with pytest.raises(RangeFileError) as err:
        parse_gcp(bad, NAME)
    assert str(err.value) == f"{NAME}: prefixes[9]: missing field 'scope'"
    bad = _broken(doc, lambda d: d["prefixes"][9].pop("ipv4Prefix"))
    with pytest.raises(RangeFileError, match=r"prefixes\[9\]: missing field 'ipv4Prefix' or 'ipv6"):
        parse_gcp(bad, NAME)
    text = doc["prefixes"][12]["ipv4Prefix"]
    bad = _broken(doc, lambda d: d["prefixes"][12].update(ipv4Prefix=with_host_bit(text)))
    with pytest.raises(RangeFileError, match=r"prefixes\[12\].ipv4Prefix: host bits set"):
        parse_gcp(bad, NAME)
    bad = _broken(doc, lambda d: d.pop("creationTime"))
    with pytest.raises(RangeFileError, match="missing field 'creationTime'"):
        parse_gcp(bad, NAME)


def test_gcp_file_given_to_the_azure_parser(data: bytes) -> None:
    with pytest.raises(RangeFileError, match="this is a Google Cloud .* not an Azure"):
        parse_azure(data, NAME)
