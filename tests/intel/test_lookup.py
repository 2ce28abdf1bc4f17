"""Lookups through the store and the compiled table, checked against the providers' own entries
with an independent longest-prefix match written with `ipaddress` and plain JSON reading."""

from __future__ import annotations

import gzip
import ipaddress
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agent.cli import main
from agent.intel.lookup import lookup
from agent.intel.store import Store
from agent.intel.table import Answer, RangeTable

Net = ipaddress.IPv4Network | ipaddress.IPv6Network
PROVIDER_FILES = {
    "oci": "oci-public_ip_ranges.json",
    "aws": "aws-ip-ranges.json",
    "azure": "azure-servicetags-public.json",
    "azure-gov": "azure-servicetags-usgov.json",
    "gcp": "gcp-cloud.json",
}


def entries(kind: str, doc: dict[str, Any]) -> Iterator[tuple[Net, str | None, str | None]]:
    """(network, region, border group) straight from a provider's JSON; no residency code."""
    if kind == "oci":
        for region in doc["regions"]:
            for c in region["cidrs"]:
                yield ipaddress.ip_network(c["cidr"]), region["region"], None
    elif kind == "aws":
        for p in doc["prefixes"] + doc["ipv6_prefixes"]:
            region = None if p["region"] == "GLOBAL" else p["region"]
            group = None if p["network_border_group"] == "GLOBAL" else p["network_border_group"]
            yield ipaddress.ip_network(p.get("ip_prefix") or p["ipv6_prefix"]), region, group
    elif kind.startswith("azure"):
        for tag in doc["values"]:
            region = tag["properties"]["region"] or None
            for net in tag["properties"]["addressPrefixes"]:
                yield ipaddress.ip_network(net), region, None
    else:
        for p in doc["prefixes"]:
            region = None if p["scope"] == "global" else p["scope"]
            yield ipaddress.ip_network(p.get("ipv4Prefix") or p["ipv6Prefix"]), region, None


class Reference:
    """Longest-prefix match by trying every prefix length: slow, simple, independent."""

    def __init__(self, ranges_dir: Path) -> None:
        self.nets: dict[Net, set[tuple[str, str | None, str | None]]] = {}
        for kind, name in PROVIDER_FILES.items():
            doc = json.loads((ranges_dir / name).read_text())
            provider = kind.split("-")[0]
            for net, region, group in entries(kind, doc):
                self.nets.setdefault(net, set()).add((provider, region, group))

    def match(self, address: str) -> tuple[Net, set[tuple[str, str | None, str | None]]] | None:
        ip = ipaddress.ip_address(address)
        for plen in range(ip.max_prefixlen, -1, -1):
            net = ipaddress.ip_network(f"{ip}/{plen}", strict=False)
            if net in self.nets:
                return net, self.nets[net]
        return None


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, ranges_dir: Path, geo_dir: Path) -> Path:
    """A fresh $RESIDENCY_HOME with every shared file imported through the CLI."""
    root = tmp_path_factory.mktemp("residency-home")
    files = [str(p) for p in sorted(ranges_dir.glob("*.json"))]
    files += [str(p) for p in sorted(geo_dir.glob("*.csv.gz"))]
    result = CliRunner().invoke(
        main, ["ranges", "import", *files], env={"RESIDENCY_HOME": str(root)}
    )
    assert result.exit_code == 0, result.output
    assert result.output.count(" stored\n") == len(files)
    return root


@pytest.fixture(scope="module")
def table(home: Path) -> RangeTable:
    store = Store(home)
    return store.table(store.current())


@pytest.fixture(scope="module")
def reference(ranges_dir: Path) -> Reference:
    return Reference(ranges_dir)


def sample(ranges_dir: Path, kind: str, n: int = 150) -> list[str]:
    """First and last addresses of n entries of one file, chosen by a fixed seed."""
    doc = json.loads((ranges_dir / PROVIDER_FILES[kind]).read_text())
    nets = [net for net, _, _ in entries(kind, doc)]
    picked = random.Random(kind).sample(nets, min(n, len(nets)))
    return [str(a) for net in picked for a in (net.network_address, net.broadcast_address)]


@pytest.mark.parametrize("kind", list(PROVIDER_FILES))
def test_addresses_from_each_file_answer_as_the_files_say(
    ranges_dir: Path, table: RangeTable, reference: Reference, kind: str
) -> None:
    addresses = sample(ranges_dir, kind)
    for answer in lookup(table, addresses):
        found = reference.match(answer.address)
        assert found is not None
        net, labels = found
        assert answer.prefix == str(net), answer
        assert (answer.provider, answer.region) in {(p, r) for p, r, _ in labels}, answer
        if answer.provider == "aws":
            assert answer.border_group in {g for _, _, g in labels}


def test_region_less_entries_are_never_given_a_region(ranges_dir: Path, table: RangeTable) -> None:
    aws = json.loads((ranges_dir / PROVIDER_FILES["aws"]).read_text())
    global_only = {p["ip_prefix"] for p in aws["prefixes"] if p["region"] == "GLOBAL"}
    regional = {p["ip_prefix"] for p in aws["prefixes"] if p["region"] != "GLOBAL"}
    nets = sorted(global_only - regional)[:50]
    assert nets
    for a in lookup(table, [n.split("/")[0] for n in nets]):
        if a.provider == "aws" and a.prefix in nets:  # not shadowed by a more specific entry
            assert a.region is None, a
            # No country from AWS; at most DB-IP's, and then the answer says so.
            assert a.country is None or (a.country_source or "").startswith("dbip-csv"), a
    gcp = json.loads((ranges_dir / PROVIDER_FILES["gcp"]).read_text())
    scoped = [
        p["ipv4Prefix"] for p in gcp["prefixes"] if p["scope"] == "global" and "ipv4Prefix" in p
    ]
    for a in lookup(table, [n.split("/")[0] for n in scoped]):
        assert a.provider == "gcp" and a.region is None, a


def test_local_zones_carry_their_own_place(ranges_dir: Path, table: RangeTable) -> None:
    aws = json.loads((ranges_dir / PROVIDER_FILES["aws"]).read_text())
    bue = [
        p["ip_prefix"] for p in aws["prefixes"] if p["network_border_group"] == "us-east-1-bue-1"
    ]
    assert bue
    for a in lookup(table, [n.split("/")[0] for n in bue]):
        assert (a.region, a.border_group, a.country, a.city) == (
            "us-east-1", "us-east-1-bue-1", "AR", "Buenos Aires",
        )  # fmt: skip


def test_us_government_regions(ranges_dir: Path, table: RangeTable) -> None:
    for a in lookup(table, sample(ranges_dir, "azure-gov", 40)):
        if a.region:
            assert a.region.startswith(("usgov", "usdod")) and a.country == "US", a


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_country_answers_come_from_dbip_where_no_provider_speaks(
    geo_dir: Path, table: RangeTable, family: str
) -> None:
    lines = gzip.decompress((geo_dir / f"dbip-country-{family}.csv.gz").read_bytes()).splitlines()
    rows = [line.decode().split(",") for line in random.Random(family).sample(lines, 300)]
    answers = lookup(table, [r[0] for r in rows] + [r[1] for r in rows])
    checked = 0
    for a, (_, _, cc) in zip(answers, rows + rows, strict=True):
        if a.provider is None and a.site is None and a.klass == "global":
            assert (a.country, a.source) == (cc, a.country_source), a
            assert a.country_source and a.country_source.startswith("dbip-csv")
            checked += 1
    assert checked > 400


@pytest.mark.parametrize(
    "address, klass",
    [("10.0.0.1", "private"), ("100.64.1.1", "shared-cgnat"), ("127.0.0.1", "loopback"),
     ("169.254.1.1", "link-local"), ("224.0.0.251", "multicast"), ("192.0.2.1", "documentation"),
     ("fe80::1", "link-local"), ("fd00::1", "unique-local"), ("::1", "loopback"),
     ("ff02::fb", "multicast"), ("::ffff:129.213.8.10", "ipv4-mapped"),
     ("2001:db8::1", "documentation"),
     ("129.213.8.10", "global")],
)  # fmt: skip
def test_special_purpose_addresses_come_first(table: RangeTable, address: str, klass: str) -> None:
    [a] = lookup(table, [address])
    assert a.klass == klass
    if klass not in ("global",):
        assert a.provider is None and a.region is None


def test_lookup_cli_from_a_fresh_home(home: Path) -> None:
    env = {"RESIDENCY_HOME": str(home)}
    run = CliRunner().invoke(
        main, ["lookup", "--json", "129.213.8.10", "2600:1f18:4000::20"], env=env
    )
    assert run.exit_code == 0, run.output
    first, second = (json.loads(line) for line in run.stdout.splitlines())
    assert {"address", "provider", "region", "border_group", "services", "country", "site",
            "prefix", "source"} <= set(first)  # fmt: skip
    assert (first["provider"], first["region"], first["country"]) == ("oci", "us-ashburn-1", "US")
    assert second["provider"] == "aws" and second["source"].startswith("aws syncToken=")
    [warning] = run.stderr.splitlines()  # one line, however many versions are old
    assert warning.startswith("warning: range data older than 30 days at ")
    assert "oci last_updated_timestamp=2025-07-31T18:18:01.103975 (" in warning  # from 2025
    bad = CliRunner().invoke(main, ["lookup", "not-an-ip"], env=env)
    assert bad.exit_code == 2 and "not an IP address" in bad.stderr


def test_the_compiled_table_is_cached(home: Path, table: RangeTable) -> None:
    store = Store(home)
    [cached] = list((home / "cache").glob("table-*.npz"))
    again = RangeTable.load(cached)
    assert again is not None
    probe = ["129.213.8.10", "8.8.8.8", "2a01:111:f100::1"]
    assert (
        lookup(again, probe) == lookup(table, probe) == lookup(store.table(store.current()), probe)
    )


def answer_of(table: RangeTable, address: str) -> Answer:
    return lookup(table, [address])[0]
