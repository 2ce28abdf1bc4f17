"""The operator's sites YAML: the example in rules/, and every error naming its line:col."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import RangeFileError
from agent.intel.records import SITES, Label
from agent.intel.sites import parse_sites
from tests.intel.rows import by_prefix, check_columns

EXAMPLE = Path(__file__).resolve().parents[2] / "rules" / "sites.yaml"

GOOD = """\
version: v7
sites:
  - name: norway-oslo
    country: NO
    cidrs: [192.0.2.0/25]
  - name: plain
    country: DE
    city: Frankfurt
    description: no created date, so none is claimed
    cidrs:
      - 192.0.2.128/25
      - 2001:db8:1::/48
"""


def test_the_example_file() -> None:
    rs = parse_sites(EXAMPLE.read_bytes(), str(EXAMPLE))
    check_columns(rs)
    assert (rs.kind, rs.layer, rs.version, rs.slot) == ("sites", SITES, "example-1", "")
    assert rs.created == "2026-01-01T00:00:00+00:00"
    rows = by_prefix(rs)
    virginia = Label(country="US", city="Ashburn", site="operator-virginia")
    singapore = Label(country="SG", city="Singapore", site="operator-singapore")
    assert rows == {
        "198.51.100.0/25": virginia, "198.51.100.128/26": virginia, "2001:db8:100::/48": virginia,
        "203.0.113.0/24": singapore, "2001:db8:200::/48": singapore,
    }  # fmt: skip


def test_values_are_read_as_written() -> None:
    rs = parse_sites(GOOD.encode(), "s.yaml")
    rows = by_prefix(rs)
    assert rows["192.0.2.0/25"] == Label(country="NO", site="norway-oslo")  # not YAML's false
    assert rows["2001:db8:1::/48"] == Label(country="DE", city="Frankfurt", site="plain")
    assert (rs.version, rs.created) == ("v7", "")
    bare = parse_sites(b"sites:\n  - {name: a, country: US, cidrs: [192.0.2.0/24]}\n", "s.yaml")
    assert bare.version == "unversioned"


@pytest.mark.parametrize(
    ("old", "new", "where", "reason"),
    [
        ("cidrs: [192.0.2.0/25]", "cidrs: [192.0.2.1/25]", "5:13",
         "host bits set in '192.0.2.1/25'"),
        ("      - 2001:db8:1::/48", "      - 2001:db8:1::/129", "12:9", "longer than 128 bits"),
        ("    city: Frankfurt", "    cty: Frankfurt", "8:5", "unknown key 'cty'"),
        ("name: plain", "name: norway-oslo", "6:11", "already defined on line 3"),
        ("      - 192.0.2.128/25", "      - 192.0.2.0/25", "11:9",
         "192.0.2.0/25 is already listed for site 'norway-oslo' on line 5"),
        ("country: DE", "country: Germany", "7:14", "ISO 3166-1 alpha-2"),
        ("country: DE", "country: de", "7:14", "ISO 3166-1 alpha-2"),
        ("country: DE", "country: XX", "7:14", "like US, not 'XX'"),
        ("    city: Frankfurt", "    city: Frankfurt\n    cuntry: DE", "9:5",
         "unknown key 'cuntry' (did you mean 'country'?)"),
        ("    cidrs: [192.0.2.0/25]\n", "", "3:5", "missing key 'cidrs'"),
        ("cidrs: [192.0.2.0/25]", "cidrs: []", "5:12", "`cidrs` must be a non-empty list"),
        ("cidrs: [192.0.2.0/25]", "cidrs: [[192.0.2.0/25]]", "5:13", "expected a single value"),
        ("version: v7", "version: v7\nversion: v8", "2:1", "key 'version' given twice"),
        ("version: v7", "version: v7\ncreated: last week", "2:10", "not a timestamp"),
        ("    city: Frankfurt", "    city: [Frankfurt", "9:16", "invalid YAML"),
        ("  - name: plain", "  - plain\n  - name: plain", "6:5", "expected a mapping"),
    ],
)  # fmt: skip
def test_errors_name_the_line(old: str, new: str, where: str, reason: str) -> None:
    assert old in GOOD
    with pytest.raises(RangeFileError) as err:
        parse_sites(GOOD.replace(old, new, 1).encode(), "s.yaml")
    assert (err.value.where, err.value.path) == (where, "s.yaml")
    assert reason in err.value.reason and str(err.value).startswith(f"s.yaml:{where}: ")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b"", "empty file"),
        (b"sites: []\n", "non-empty list"),
        (b"version: 1\n", "missing key 'sites'"),
        (b"- a\n- b\n", "expected a mapping"),
        (b"sites:\n  - name: a\n\xff\n", "not UTF-8"),
    ],
)
def test_whole_file_errors(text: bytes, reason: str) -> None:
    with pytest.raises(RangeFileError, match=reason):
        parse_sites(text, "s.yaml")
