"""The demo world of `make demo` (pcaps/make_demo.py): reproducible to the byte, importable, and
telling the story it is for.

The expectations below are written from the demo's specification, not read from the generator, so
a change to the generator that changes the story fails here.
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agent.cli import main

PCAPS = Path(__file__).resolve().parents[1] / "pcaps"
WORLD = PCAPS / "demo-world"
SITES = PCAPS.parent / "rules" / "sites.yaml"
DOC_NETS = ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
DOCUMENTATION = [ipaddress.ip_network(n) for n in DOC_NETS]
CLIENT, CLIENT6, ADMIN = "10.20.0.15", "2001:db8:20::15", "10.30.0.7"
RESOLVERS = {"10.20.0.2", "10.30.0.2"}
CAPTURED = (1772460000, 1772460060)
"""2026-03-02T14:00:00Z and a minute later, in seconds."""

LOOKUPS = [
    # address, provider, region, site, country
    ("192.0.2.10", "oci", "us-ashburn-1", None, "US"),
    ("192.0.2.70", "oci", "us-phoenix-1", None, "US"),
    ("192.0.2.100", "oci", "eu-frankfurt-1", None, "DE"),
    ("2001:db8:a000::10", "oci", "us-ashburn-1", None, "US"),
    ("192.0.2.140", "aws", "ap-southeast-1", None, "SG"),
    ("2001:db8:b000::40", "aws", "ap-southeast-1", None, "SG"),
    ("192.0.2.200", "aws", None, None, "US"),  # CloudFront GLOBAL: no region; DB-IP says US
    ("198.51.100.230", "aws", "us-east-1", None, "US"),
    ("198.51.100.200", "azure", "eastus", None, "US"),
    ("198.51.100.215", "gcp", "us-central1", None, "US"),
    ("198.51.100.20", None, None, "operator-virginia", "US"),
    ("198.51.100.150", None, None, "operator-virginia", "US"),
    ("2001:db8:100::20", None, None, "operator-virginia", "US"),
    ("203.0.113.50", None, None, "operator-singapore", "SG"),
    ("2001:db8:ffff::30", None, None, None, None),
]

SNI, DNS = "sni", "dns"
STORY = [
    # proto, initiator, responder, port, names; each flow exactly once in the capture
    (6, CLIENT, "192.0.2.10", 443, {(SNI, "api.us.app.example"), (DNS, "api.us.app.example")}),
    (1, CLIENT, "192.0.2.10", 0, {(DNS, "api.us.app.example")}),
    (17, CLIENT, "192.0.2.70", 443,
     {("quic", "media.us.app.example"), (DNS, "media.us.app.example")}),
    (6, CLIENT, "198.51.100.20", 443,
     {(SNI, "edge.us.app.example"), (DNS, "edge.us.app.example")}),
    (6, CLIENT6, "2001:db8:100::20", 443,
     {(SNI, "im.us.app.example"), (DNS, "im.us.app.example")}),
    (6, CLIENT, "203.0.113.50", 443,
     {(SNI, "backup.sg.app.example"), (DNS, "backup.sg.app.example")}),
    (6, CLIENT, "192.0.2.140", 443,
     {(SNI, "analytics.app.example"), (DNS, "analytics.app.example")}),
    (6, CLIENT6, "2001:db8:b000::40", 443,
     {(SNI, "analytics.app.example"), (DNS, "analytics.app.example")}),
    (6, CLIENT, "192.0.2.100", 80, {("http", "eu.app.example"), (DNS, "eu.app.example")}),
    (6, CLIENT, "192.0.2.200", 443,
     {(SNI, "cdn.app.example"), (DNS, "cdn.app.example"), (DNS, "edge-global.cdn.example")}),
    (6, CLIENT6, "2001:db8:ffff::30", 443, set()),  # an address literal: no DNS, no SNI
    (17, CLIENT, "224.0.0.251", 5353, set()),  # mDNS
    (6, ADMIN, "192.0.2.140", 443,
     {(SNI, "analytics.app.example"), (DNS, "analytics.app.example")}),
    (6, "198.51.100.150", "10.20.0.10", 5432, set()),  # into the US users' database: allowed
    (6, "203.0.113.80", "10.20.0.10", 5432, set()),  # the same from Singapore: a violation
]  # fmt: skip


def cli(*args: str, home: Path | None = None) -> tuple[int, str]:
    env = {"RESIDENCY_HOME": str(home)} if home else None
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout


def json_rows(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def files_under(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_the_generator_writes_the_committed_bytes(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(PCAPS / "make_demo.py"), str(tmp_path)], check=True,
                   capture_output=True)  # fmt: skip
    made = files_under(tmp_path)
    assert made == [Path("demo-world") / p for p in files_under(WORLD)] + [
        Path("demo.pcap"), Path("demo.pcapng")]  # fmt: skip
    for rel in made:
        assert (tmp_path / rel).read_bytes() == (PCAPS / rel).read_bytes(), rel


def test_range_files_are_labelled_and_cover_documentation_space_only() -> None:
    names = [p.name for p in WORLD.iterdir()]
    assert all(n.startswith("demo-") for n in names if n != "README.md")
    assert "DEMO DATA" in (WORLD / "README.md").read_text()
    for path in WORLD.glob("demo-*"):
        text = path.read_text()
        nets = [ipaddress.ip_network(c) for c in re.findall(r'"([0-9a-f:.]+/\d+)"', text)]
        ranges = [(n[0], n[-1]) for n in nets]
        if path.suffix == ".csv":
            rows = [line.split(",") for line in text.splitlines()]
            ranges = [(ipaddress.ip_address(a), ipaddress.ip_address(b)) for a, b, _ in rows]
        assert ranges, path
        for first, last in ranges:
            assert any(first in doc and last in doc for doc in DOCUMENTATION), (first, last)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh store holding the demo world and the example sites, imported through the CLI."""
    root = tmp_path_factory.mktemp("residency-home")
    files = sorted(str(p) for p in WORLD.glob("demo-*"))
    code, out = cli("ranges", "import", *files, str(SITES), home=root)
    assert code == 0, out
    assert out.count(" stored\n") == len(files) + 1
    return root


def test_each_file_is_recognised_as_its_providers(home: Path) -> None:
    code, out = cli("ranges", "list", "--json", home=home)
    assert code == 0
    slots = {row["slot"] for row in json_rows(out) if row["current"]}
    assert slots == {"oci", "aws", "azure:Public", "gcp", "dbip-csv:ipv4", "sites"}


@pytest.mark.parametrize(("address", "provider", "region", "site", "country"), LOOKUPS)
def test_lookup_places_each_demo_address(
    home: Path, address: str, provider: str | None, region: str | None, site: str | None,
    country: str | None,
) -> None:  # fmt: skip
    code, out = cli("lookup", "--json", address, home=home)
    assert code == 0
    [answer] = json_rows(out)
    got = (answer["class"], answer["provider"], answer["region"], answer["site"], answer["country"])
    assert got == ("documentation", provider, region, site, country)
    if not (provider or site or country):
        assert answer["source"] is None  # in no file at all


@pytest.mark.parametrize(("address", "klass"), [("10.20.0.2", "private"),
                                                ("224.0.0.251", "multicast")])  # fmt: skip
def test_the_excluded_destinations_are_special(home: Path, address: str, klass: str) -> None:
    [answer] = json_rows(cli("lookup", "--json", address, home=home)[1])
    assert (answer["class"], answer["provider"], answer["source"]) == (klass, None, None)


def flows_of(capture: str) -> list[dict[str, Any]]:
    code, out = cli("flows", "--json", str(PCAPS / capture))
    assert code == 0
    return json_rows(out)


@pytest.fixture(scope="module")
def flows() -> list[dict[str, Any]]:
    return flows_of("demo.pcapng")


def story_flow(flows: list[dict[str, Any]], proto: int, src: str, dst: str, port: int) -> Any:
    [flow] = [f for f in flows if (f["proto"], f["src"], f["dst"], f["dport"]) ==
              (proto, src, dst, port)]  # fmt: skip
    return flow


@pytest.mark.parametrize(("proto", "src", "dst", "port", "names"), STORY)
def test_each_story_flow_carries_its_names(
    flows: list[dict[str, Any]], proto: int, src: str, dst: str, port: int,
    names: set[tuple[str, str]],
) -> None:  # fmt: skip
    flow = story_flow(flows, proto, src, dst, port)
    assert {(n["source"], n["name"]) for n in flow["names"]} == names
    assert CAPTURED[0] <= Decimal(flow["first"]) <= Decimal(flow["last"]) < CAPTURED[1]
    if proto == 6:  # whole connections: handshake and teardown both ways
        assert "S" in flow["tcp_flags_fwd"] and "F" in flow["tcp_flags_fwd"]
        assert "S" in flow["tcp_flags_rev"] and "F" in flow["tcp_flags_rev"]


def test_the_backup_is_a_large_upload(flows: list[dict[str, Any]]) -> None:
    flow = story_flow(flows, 6, CLIENT, "203.0.113.50", 443)
    assert flow["bytes_fwd"] > 80_000 > 10 * flow["bytes_rev"]


def test_every_other_flow_is_a_question_to_a_resolver(flows: list[dict[str, Any]]) -> None:
    story = {(proto, src, dst, port) for proto, src, dst, port, _ in STORY}
    rest = [f for f in flows if (f["proto"], f["src"], f["dst"], f["dport"]) not in story]
    assert rest and all((f["proto"], f["dport"]) == (17, 53) for f in rest)
    assert {f["dst"] for f in rest} == RESOLVERS
    assert {f["src"] for f in rest} == {CLIENT, ADMIN, "10.20.0.37"}  # .37: a TV on VLAN 20


def test_dns_answers_come_before_the_connections_they_name() -> None:
    code, out = cli("names", "--json", str(PCAPS / "demo.pcapng"))
    assert code == 0
    first: dict[tuple[str, str, str], Decimal] = {}
    for row in json_rows(out):
        first.setdefault((row["source"], row["name"], row["address"]), Decimal(row["first"]))
    wire = {(how, name, dst) for _, _, dst, _, names in STORY for how, name in names if how != DNS}
    assert {k for k in first if k[0] != DNS} == wire
    for how, name, address in wire:
        assert first[(DNS, name, address)] < first[(how, name, address)], (name, address)


def test_pcap_and_pcapng_hold_the_same_flows(flows: list[dict[str, Any]]) -> None:
    def bare(rows: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for row in rows:  # pcap keeps microseconds only, and names its own file
            yield {k: v for k, v in row.items() if k not in ("capture", "first_ns", "last_ns",
                                                             "first", "last")}  # fmt: skip

    assert list(bare(flows_of("demo.pcap"))) == list(bare(flows))
