"""Country data: the real DB-IP Lite CSVs, and .mmdb files written here in memory."""

from __future__ import annotations

import gzip
import ipaddress
from pathlib import Path

import pytest

from agent.errors import RangeFileError
from agent.intel.country import parse_dbip_csv, parse_mmdb
from agent.intel.records import COUNTRY, Label, RangeSet
from tests.intel.mmdb_writer import write_mmdb
from tests.intel.rows import check_columns, is_v4, value

FILES = {"ipv4": ("dbip-country-ipv4.csv.gz", 355_800, 247),
         "ipv6": ("dbip-country-ipv6.csv.gz", 345_868, 250)}  # fmt: skip


@pytest.fixture(scope="module")
def csv(geo_dir: Path) -> dict[str, tuple[bytes, RangeSet]]:
    out = {}
    for family, (name, _, _) in FILES.items():
        data = gzip.decompress((geo_dir / name).read_bytes())
        out[family] = (data, parse_dbip_csv(data, name))
    return out


def as_int(text: str) -> int:
    ip = ipaddress.ip_address(text)
    return int(ip) | (0xFFFF_0000_0000 if ip.version == 4 else 0)


@pytest.mark.parametrize("family", FILES)
def test_dbip_rows_as_the_file_says(family: str, csv: dict[str, tuple[bytes, RangeSet]]) -> None:
    data, rs = csv[family]
    _, rows, codes = FILES[family]
    assert (rs.kind, rs.layer, rs.slot, rs.created) == ("dbip-csv", COUNTRY, family, "")
    assert rs.version == f"dbip-lite {family} {rows} rows"
    assert len(rs) == rows and len(rs.labels) == codes
    assert bool(is_v4(rs).all()) if family == "ipv4" else not is_v4(rs).any()
    assert set(rs.prefix_len.tolist()) == {-1}
    assert all(lab == Label(country=lab.country) for lab in rs.labels)
    lines = data.decode().splitlines()
    for i in (0, 1, len(lines) // 2, len(lines) - 1):
        first, last, cc = lines[i].split(",")
        assert value(rs, "first_hi", "first_lo", i) == as_int(first)
        assert value(rs, "last_hi", "last_lo", i) == as_int(last)
        assert rs.labels[int(rs.label[i])].country == cc
    small = parse_dbip_csv("\n".join(lines[:300]).encode(), "head.csv")
    check_columns(small)


def test_dbip_both_families_in_one_file_and_crlf() -> None:
    rs = parse_dbip_csv(b"1.0.0.0,1.0.0.255,AU\r\n2001:200::,2001:200:ffff::,JP\r\n", "both.csv")
    assert (rs.slot, rs.version, len(rs)) == ("", "dbip-lite ipv4+ipv6 2 rows", 2)
    assert [lab.country for lab in rs.labels] == ["AU", "JP"]
    assert value(rs, "first_hi", "first_lo", 1) == 0x2001_0200 << 96


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("1.0.12.0,1.0.12.255", "expected start,end,country"),
        ("1.0.12.0,1.0.12.255,AU,x", "expected start,end,country"),
        ("1.0.12.0,1.0.12.256,AU", "not an IPv4 address: '1.0.12.256'"),
        ("1.0.12.9,1.0.12.0,AU", "range start '1.0.12.9' is after its end '1.0.12.0'"),
        ("1.0.12.0,2001::,AU", "different families"),
        ("1.0.12.0,1.0.12.255,au", "not a country code: 'au'"),
        ("1.0.12.0,1.0.12.255,", "not a country code: ''"),
        ("", "expected start,end,country"),
    ],
)
def test_dbip_bad_line_is_named(line: str, reason: str) -> None:
    good = [f"1.0.{i}.0,1.0.{i}.255,AU" for i in range(20)]
    good[11] = line
    with pytest.raises(RangeFileError) as err:
        parse_dbip_csv(("\n".join(good) + "\n").encode(), "c.csv")
    assert err.value.where == "line 12"
    assert reason in err.value.reason


def test_dbip_real_file_damaged(csv: dict[str, tuple[bytes, RangeSet]]) -> None:
    data = csv["ipv6"][0]
    lines = data.split(b"\n")
    lines[1000] = lines[1000].replace(b",", b";", 1)
    with pytest.raises(RangeFileError, match=r"^dbip6.csv: line 1001: expected start,end,country"):
        parse_dbip_csv(b"\n".join(lines), "dbip6.csv")
    with pytest.raises(RangeFileError, match="no rows"):
        parse_dbip_csv(b"", "empty.csv")
    with pytest.raises(RangeFileError, match="line 2: not ASCII"):
        parse_dbip_csv("1.0.0.0,1.0.0.255,AU\n1.0.1.0,1.0.1.255,ÅU\n".encode(), "u.csv")


NETWORKS = [
    ("1.0.0.0/24", {"country": {"iso_code": "AU", "names": {"en": "Australia"}},
                    "registered_country": {"iso_code": "US"}}),
    ("8.8.8.0/24", {"country_code": "US"}),  # ip-location-db's flat layout
    ("10.0.0.0/8", {"continent": {"code": "EU"}}),  # no country: left out
    ("2001:200::/32", {"country": {"iso_code": "JP"}}),
    ("2a00:1450::/32", {"country_code": "IE"}),
]  # fmt: skip


def test_mmdb_networks_become_country_ranges() -> None:
    mapped = ("::ffff:9.9.9.0/120", {"country_code": "FR"})  # IPv4 seen through IPv6: left out
    data = write_mmdb([*NETWORKS, mapped], build_epoch=1_780_000_000,
                      database_type="DBIP-Country-Lite")  # fmt: skip
    rs = parse_mmdb(data, "country.mmdb")
    check_columns(rs)
    assert (rs.kind, rs.layer, rs.slot) == ("mmdb", COUNTRY, "")
    assert rs.version == "DBIP-Country-Lite build_epoch=1780000000"
    assert rs.created == "2026-05-28T20:26:40+00:00"
    got = {}
    for i in range(len(rs)):
        first, plen = value(rs, "first_hi", "first_lo", i), int(rs.prefix_len[i])
        net = (ipaddress.ip_network((first & 0xFFFF_FFFF, plen - 96)) if is_v4(rs)[i]
               else ipaddress.ip_network((first, plen)))  # fmt: skip
        got[str(net)] = rs.labels[int(rs.label[i])].country
    assert got == {"1.0.0.0/24": "AU", "8.8.8.0/24": "US", "2001:200::/32": "JP",
                   "2a00:1450::/32": "IE"}  # fmt: skip
    v4_only = parse_mmdb(write_mmdb(NETWORKS[:2]), "v4.mmdb")
    assert v4_only.slot == "ipv4"


def test_mmdb_errors() -> None:
    with pytest.raises(RangeFileError, match="^x.mmdb: not a readable MaxMind DB"):
        parse_mmdb(b"not a database at all", "x.mmdb")
    good = write_mmdb(NETWORKS)
    with pytest.raises(RangeFileError, match="^x.mmdb: .*MaxMind DB"):
        parse_mmdb(good[-200:], "x.mmdb")  # the tree and data are cut away
    with pytest.raises(RangeFileError, match="no network in this MaxMind DB has a country"):
        parse_mmdb(write_mmdb([("10.0.0.0/8", {"asn": "x"})]), "x.mmdb")
    with pytest.raises(RangeFileError, match="network 1.0.0.0/24: not a country code: 'Australia'"):
        parse_mmdb(write_mmdb([("1.0.0.0/24", {"country_code": "Australia"})]), "x.mmdb")
    damaged = bytearray(good)
    damaged[0:3] = b"\xff\xff\xf0"  # the root's left record points past the tree and data
    with pytest.raises(RangeFileError, match="^x.mmdb: .*MaxMind DB"):
        parse_mmdb(bytes(damaged), "x.mmdb")
