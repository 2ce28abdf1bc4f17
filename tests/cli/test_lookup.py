"""`lookup` as people feed it: addresses on standard input, networks (one answer, or the parts
the sources tell apart), IPv4-mapped addresses as their IPv4 owner; with the real AWS and OCI
files."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agent.cli import main
from agent.cli.base import utcnow
from agent.intel.store import Store, read_bytes
from tests.truth import SHARED

FILES = ("aws-ip-ranges.json", "oci-public_ip_ranges.json")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    paths = [SHARED / "ranges" / n for n in FILES]
    if not all(p.exists() for p in paths):
        pytest.skip(f"needs the real range files in {SHARED / 'ranges'} (CI has them)")
    root = tmp_path_factory.mktemp("home")
    for p in paths:
        Store(root).add(read_bytes(str(p)), p.name, utcnow())
    return root


def lookup(home: Path, *args: str, stdin: str | None = None) -> list[dict[str, Any]]:
    run = CliRunner().invoke(main, ["-q", "lookup", "--json", *args], input=stdin,
                             env={"RESIDENCY_HOME": str(home)})  # fmt: skip
    assert run.exit_code == 0, run.output
    return [json.loads(line) for line in run.stdout.splitlines()]


def aws_prefixes() -> list[dict[str, Any]]:
    return list(json.loads((SHARED / "ranges" / FILES[0]).read_text())["prefixes"])


def test_addresses_come_on_standard_input_as_on_the_command_line(home: Path) -> None:
    given = ["3.80.0.20", "129.213.8.10", "10.0.0.1", "2600:1f18::1"]
    piped = lookup(home, stdin="\n".join(["# a comment", *given[:2], "", *given[2:]]) + "\n")
    assert piped == lookup(home, *given) == lookup(home, "-", stdin="\n".join(given))
    assert [a["address"] for a in piped] == given


def test_an_ipv4_mapped_address_is_answered_as_its_ipv4_owner(home: Path) -> None:
    [mapped, plain] = lookup(home, "::ffff:129.213.8.10", "129.213.8.10")
    assert mapped["address"] == "::ffff:129.213.8.10"
    assert {**mapped, "address": ""} == {**plain, "address": ""}
    assert (plain["provider"], plain["region"]) == ("oci", "us-ashburn-1")


def test_a_network_one_source_places_whole_gets_one_answer(home: Path) -> None:
    raw = [p for p in aws_prefixes() if p["ip_prefix"] == "15.220.120.0/21"]
    assert {(p["region"], p["network_border_group"]) for p in raw} == {
        ("us-east-1", "us-east-1-bue-1")}  # fmt: skip
    [a] = lookup(home, "15.220.120.0/21")
    assert a["address"] == "15.220.120.0/21"
    assert (a["region"], a["border_group"], a["country"]) == ("us-east-1", "us-east-1-bue-1", "AR")
    assert sorted(a["services"]) == sorted({p["service"] for p in raw})


def test_a_network_the_sources_split_is_answered_part_by_part(home: Path) -> None:
    """Parts cover the network exactly, in order; each says what a lookup of its first and
    last address says; neighbours differ; and the file's own /23 inside 3.80.0.0/12 (another
    service) is one of them."""
    net = ipaddress.ip_network("3.80.0.0/12")
    parts = lookup(home, str(net))
    spans = [tuple(int(ipaddress.ip_address(x)) for x in p["address"].split("-")) for p in parts]
    assert spans[0][0] == int(net.network_address) and spans[-1][1] == int(net.broadcast_address)
    assert all(a[1] + 1 == b[0] for a, b in zip(spans, spans[1:], strict=False))
    ends = [str(ipaddress.ip_address(x)) for span in spans for x in span]
    singles = lookup(home, *ends)
    strip = ("address", "prefix")
    for i, part in enumerate(parts):
        said = {k: v for k, v in part.items() if k not in strip}
        for one in singles[2 * i : 2 * i + 2]:
            assert said == {k: v for k, v in one.items() if k not in strip}
    for x, y in zip(parts, parts[1:], strict=False):
        assert {k: v for k, v in x.items() if k not in strip} != {
            k: v for k, v in y.items() if k not in strip}  # fmt: skip
    inner = [p for p in aws_prefixes() if p["ip_prefix"] == "3.80.16.0/23"]
    assert inner and any(p["address"] == "3.80.16.0-3.80.17.255" for p in parts)
    assert "CHIME_VOICECONNECTOR" in next(
        p for p in parts if p["address"] == "3.80.16.0-3.80.17.255")["services"]  # fmt: skip


def test_a_bad_network_is_a_usage_error(home: Path) -> None:
    run = CliRunner().invoke(main, ["lookup", "3.80.0.0/99"], env={"RESIDENCY_HOME": str(home)})
    assert run.exit_code == 2
    assert "not an IP address or network: '3.80.0.0/99'" in run.stderr
