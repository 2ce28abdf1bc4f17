"""CIDR and range text into the 128-bit space, and the builder that merges repeated prefixes."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.intel.cidr import (
    MASK64,
    V4_MAPPED,
    Cidr,
    RangeBuilder,
    merge_labels,
    parse_cidr,
    parse_range,
)
from agent.intel.records import PROVIDERS, Label
from tests.intel.rows import by_prefix, check_columns


def test_ipv4_is_mapped_and_its_length_is_96_plus_n() -> None:
    c = parse_cidr("129.80.0.0/16")
    assert c == Cidr(0, V4_MAPPED | 0x8150_0000, 0, V4_MAPPED | 0x8150_FFFF, 112)
    assert c.is_v4
    assert parse_cidr("0.0.0.0/0") == Cidr(0, V4_MAPPED, 0, V4_MAPPED | 0xFFFF_FFFF, 96)
    assert parse_cidr("8.8.8.8/32").prefix_len == 128


def test_ipv6_spans_both_words() -> None:
    c = parse_cidr("2600:1900:8000::/44")
    assert (c.first_hi, c.first_lo) == (0x2600_1900_8000_0000, 0)
    assert (c.last_hi, c.last_lo) == (0x2600_1900_800F_FFFF, MASK64)
    assert c.prefix_len == 44 and not c.is_v4


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("10.0.0.1/24", "host bits set in '10.0.0.1/24' (the network is 10.0.0.0/24)"),
        ("2001:db8::1/64", "host bits set in '2001:db8::1/64' (the network is 2001:db8::/64)"),
        ("10.0.0.0", "not a CIDR"),
        ("10.0.0.0/33", "prefix length 33 is longer than 32 bits"),
        ("2001:db8::/129", "longer than 128 bits"),
        ("10.0.0.0/024", "bad prefix length"),
        ("10.0.0.0/+8", "bad prefix length"),
        ("10.0.0.0/ 8", "bad prefix length"),
        ("10.0.0.0/", "bad prefix length"),
        ("010.0.0.0/8", "not an IPv4 address"),
        ("10.0.0/8", "not an IPv4 address"),
        (" 10.0.0.0/8", "not an IPv4 address"),
        ("2001:db8:::/48", "not an IPv6 address"),
        ("fe80::%eth0/64", "not an IPv6 address"),
        ("::ffff:10.0.0.0/104", "overlaps ::ffff:0:0/96"),
        ("::/0", "overlaps ::ffff:0:0/96"),
        ("", "not a CIDR"),
    ],
)
def test_bad_cidrs_say_why(text: str, reason: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_cidr(text)
    assert reason in str(err.value)


networks = st.one_of(
    st.builds(lambda v, n: ipaddress.ip_network((v >> (32 - n) << (32 - n), n)),
              st.integers(0, 2**32 - 1), st.integers(0, 32)),
    st.builds(lambda v, n: ipaddress.ip_network((v >> (128 - n) << (128 - n), n)),
              st.integers(0x2000 << 112, (0x4000 << 112) - 1), st.integers(3, 128)),  # 2000::/3
)  # fmt: skip


@given(networks)
def test_agrees_with_ipaddress(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> None:
    c = parse_cidr(str(net))
    base = V4_MAPPED if net.version == 4 else 0
    first, last = base | int(net.network_address), base | int(net.broadcast_address)
    assert (c.first_hi << 64 | c.first_lo, c.last_hi << 64 | c.last_lo) == (first, last)
    assert c.prefix_len == net.prefixlen + (96 if net.version == 4 else 0)


def test_ranges() -> None:
    assert parse_range("1.0.1.0", "1.0.3.255") == Cidr(0, V4_MAPPED | 0x0100_0100, 0,
                                                        V4_MAPPED | 0x0100_03FF, -1)  # fmt: skip
    assert parse_range("2c10::", "2dff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").last_lo == MASK64
    for first, last, reason in [
        ("1.0.3.0", "1.0.1.0", "after its end"),
        ("1.0.0.0", "2001::", "different families"),
        ("::", "2001::", "overlaps ::ffff:0:0/96"),
    ]:
        with pytest.raises(ValueError, match=reason):
            parse_range(first, last)


EAST = Label("azure", "eastus", ("AzureCloud.eastus",), None, "US", "Virginia")
WEST = Label("azure", "westus", ("AzureCloud.westus",), None, "US", "California")
DUBLIN = Label("azure", "northeurope", ("AzureCloud.northeurope",), None, "IE", "Dublin")
STORAGE = Label("azure", None, ("Storage",))


def test_merge_unites_services_and_keeps_what_all_agree_on() -> None:
    assert merge_labels([EAST]) is EAST
    assert merge_labels([STORAGE, EAST]) == Label(
        "azure", "eastus", ("AzureCloud.eastus", "Storage"), None, "US", "Virginia"
    )
    # Two regions for one prefix: the file contradicts itself, so no region is picked; the
    # country stays where both regions are in it, the city does not.
    assert merge_labels([EAST, WEST]) == Label(
        "azure", None, ("AzureCloud.eastus", "AzureCloud.westus"), None, "US", None
    )
    assert merge_labels([EAST, DUBLIN, STORAGE]).country is None


def test_builder_merges_repeated_prefixes_in_file_order() -> None:
    b = RangeBuilder()
    s3 = Label("aws", "us-east-1", ("S3",), "us-east-1", "US", "Northern Virginia")
    amazon = Label("aws", "us-east-1", ("AMAZON",), "us-east-1", "US", "Northern Virginia")
    b.add(parse_cidr("52.216.0.0/15"), amazon)
    b.add(parse_cidr("3.5.0.0/19"), amazon)
    b.add(parse_cidr("52.216.0.0/15"), s3)
    b.add(parse_cidr("52.216.0.0/15"), amazon)
    rs = b.build("aws", PROVIDERS, "syncToken=1", "")
    check_columns(rs)
    assert list(by_prefix(rs)) == ["52.216.0.0/15", "3.5.0.0/19"]
    assert by_prefix(rs)["52.216.0.0/15"].services == ("AMAZON", "S3")
    assert by_prefix(rs)["3.5.0.0/19"] == amazon
    empty = RangeBuilder().build("sites", "sites", "", "")
    check_columns(empty)
    assert len(empty) == 0
