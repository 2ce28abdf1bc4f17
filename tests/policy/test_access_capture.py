"""Access verification end to end on a capture made with the project's own writer (pcaps/):
connections into a local PostgreSQL port from addresses that the real DB-IP and provider files
place in China, Singapore and the US, from an allowed operator site and under an exception.
Every verdict and every byte out is checked against numbers computed here: the origins picked by
reading the files with `ipaddress` and `csv`, the bytes summed from the generated frames' own IP
headers."""

from __future__ import annotations

import csv
import gzip
import ipaddress
import json
import random
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agent.cli import main
from agent.cli.base import utcnow
from agent.intel.store import Store, read_bytes
from pcaps.capfile import Interface, pcapng_file
from pcaps.conversation import Capture, TcpFlow, peer
from tests.truth import SHARED

ROOT = Path(__file__).resolve().parents[2]
DB = "10.20.0.10"
START_NS = int(datetime(2026, 9, 1, 12, tzinfo=UTC).timestamp()) * 10**9
"""After the stored AWS file's own date (2026-08-22), so it is the version in force."""
MS = 1_000_000
Net = ipaddress.IPv4Network


class World:
    """The real files, read here without residency: provider IPv4 ranges and DB-IP countries."""

    def __init__(self) -> None:
        self.ranges: list[tuple[Net, str, str]] = []
        aws = json.loads((SHARED / "ranges" / "aws-ip-ranges.json").read_text())
        for p in aws["prefixes"]:
            self.ranges.append((Net(p["ip_prefix"]), "aws", p["region"]))
        oci = json.loads((SHARED / "ranges" / "oci-public_ip_ranges.json").read_text())
        for r in oci["regions"]:
            for c in r["cidrs"]:
                if ":" not in c["cidr"]:
                    self.ranges.append((Net(c["cidr"]), "oci", r["region"]))

    def owners(self, address: str) -> set[tuple[str, str]]:
        a = ipaddress.ip_address(address)
        return {(who, region) for net, who, region in self.ranges if a in net}

    def in_region(self, provider: str, region: str, skip: int = 0) -> str:
        """An address every range of which names only this provider and region."""
        for net, who, where in self.ranges:
            if (who, where) == (provider, region) and net.num_addresses > 2:
                address = str(net[1])
                if self.owners(address) == {(provider, region)}:
                    if not skip:
                        return address
                    skip -= 1
        raise AssertionError(f"no {provider} {region} address")

    def by_country_only(self, country: str) -> str:
        """An address DB-IP places in `country` that no provider range covers."""
        with gzip.open(SHARED / "geo" / "dbip-country-ipv4.csv.gz", "rt") as f:
            for first, last, cc in csv.reader(f):
                a = ipaddress.ip_address(first) + 1
                if cc == country and a <= ipaddress.ip_address(last) and not self.owners(str(a)):
                    return str(a)
        raise AssertionError(f"no {country} address")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    if not (SHARED / "ranges").is_dir() or not (SHARED / "geo").is_dir():
        pytest.skip(f"needs the shared range and country files in {SHARED} (CI has them)")
    root = tmp_path_factory.mktemp("home")
    store = Store(root)
    files = [SHARED / "ranges" / "aws-ip-ranges.json",
             SHARED / "ranges" / "oci-public_ip_ranges.json",
             SHARED / "geo" / "dbip-country-ipv4.csv.gz",
             ROOT / "rules" / "sites.yaml"]  # fmt: skip
    for path in files:
        store.add(read_bytes(str(path)), str(path), utcnow())
    w = World()
    origins = {
        "cn": w.by_country_only("CN"),
        "sg": w.in_region("aws", "ap-southeast-1"),
        "sg-vendor": w.in_region("aws", "ap-southeast-1", skip=1),
        "us-oci": w.in_region("oci", "us-ashburn-1"),
        "us-country": w.by_country_only("US"),
        "us-aws": w.in_region("aws", "us-east-1"),
        "site": "198.51.100.20",  # operator-virginia in rules/sites.yaml
    }
    return root, origins


POLICY = """\
version: 1
name: us-user-data
scope:
  include:
    - name: us-hosts
      local: [10.20.0.0/24]
approve:
  - name: operator-us
    sites: [operator-virginia]
access:
  protect:
    - name: us-user-db
      description: PostgreSQL holding US users' records
      networks: [10.20.0.10]
      ports: [5432]
      protocols: [tcp]
  allow:
    - name: operator-virginia
      sites: [operator-virginia]
    - name: oci-us
      provider: oci
      regions: [us-ashburn-1]
    - name: us-by-country
      countries: [US]
  exceptions:
    - name: vendor-migration
      reason: The vendor's migration from Singapore, agreed until the end of 2026
      networks: [{vendor}]
      until: 2026-12-31
"""
EXPECTED = {
    # origin: (verdict, deciding rule, weak)
    "cn": ("access-violation", None, True),
    "sg": ("access-violation", None, False),
    "us-aws": ("access-violation", None, False),  # a weak rule never beats a provider range
    "sg-vendor": ("exempt", "vendor-migration", False),
    "us-oci": ("allowed", "oci-us", False),
    "us-country": ("allowed", "us-by-country", True),
    "site": ("allowed", "operator-virginia", False),
}


def capture(path: Path, origins: dict[str, str]) -> Counter[str]:
    """One session per origin into the database, with a different answer size each, and a
    second China session seen mid-connection (no SYN); -> IP bytes the database sent to each
    origin address, summed from the generated frames' IPv4 headers."""
    cap, rng = Capture(), random.Random(15)
    db = peer("02:00:0a:14:00:0a", DB, 64, padded=False)
    for i, name in enumerate(sorted(origins)):
        client = peer("02:00:0a:14:00:01", origins[name], 47)
        flow = TcpFlow(cap, rng, client, db, (41000 + i, 5432), START_NS + i * 500 * MS, 9 * MS)
        flow.handshake()
        flow.exchange(bytes(300 + i), bytes(20_000 + 1_111 * i), 2 * MS, MS)
        flow.close(5 * MS)
    late = TcpFlow(cap, rng, peer("02:00:0a:14:00:01", origins["cn"], 47), db,
                   (41999, 5432), START_NS + 9_000 * MS, 9 * MS)  # fmt: skip
    late.send(1, bytes(7_000), late.t)  # the database's answer, its SYN long before the capture
    path.write_bytes(pcapng_file(cap.ordered(), [Interface(tsresol=9)]))
    out: Counter[str] = Counter()
    for p in cap.ordered():
        ip = p.frame[14:]
        if str(ipaddress.ip_address(ip[12:16])) == DB:
            out[str(ipaddress.ip_address(ip[16:20]))] += int.from_bytes(ip[2:4], "big")
    return out


def analyze(root: Path, *args: str) -> tuple[int, dict[str, Any]]:
    run = CliRunner().invoke(main, ["analyze", *args, "--json"], env={"RESIDENCY_HOME": str(root)})
    return run.exit_code, json.loads(run.stdout)


def test_every_access_is_judged_with_its_bytes_out(
    world: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, origins = world
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.format(vendor=origins["sg-vendor"]))
    pcap = tmp_path / "access.pcapng"
    sent = capture(pcap, origins)
    code, doc = analyze(root, str(pcap), "--policy", str(policy))
    assert code == 1 and doc["compliant"] is False
    a = doc["access"]
    bad = {o["address"]: o for o in a["violations"]}
    assert set(bad) == {origins["cn"], origins["sg"], origins["us-aws"]}
    us = bad[origins["us-aws"]]
    assert (us["country"], us["region"], us["bytes_out"]) == ("US", "us-east-1",
                                                              sent[origins["us-aws"]])
    assert us["notes"] == [
        f"rule 'us-by-country' (countries, weak evidence) matched, but {us['source']} places it "
        f"at aws range {us['prefix']} (us-east-1, US), which no rule on addresses, providers or "
        "sites approves"]  # fmt: skip
    cn, sg = bad[origins["cn"]], bad[origins["sg"]]
    assert (cn["country"], cn["provider"], cn["sessions"]) == ("CN", None, 2)
    assert cn["bytes_out"] == sent[origins["cn"]] and cn["weak"]
    assert cn["notes"] == ["placed by country data only"]
    assert (sg["country"], sg["provider"], sg["region"]) == ("SG", "aws", "ap-southeast-1")
    assert sg["bytes_out"] == sent[origins["sg"]] and not sg["weak"]
    assert sg["services"] == [{"rule": "us-user-db", "address": DB, "protocol": 6, "port": 5432}]
    assert ipaddress.ip_address(origins["sg"]) in ipaddress.ip_network(sg["prefix"])
    by_verdict: dict[str, Counter[str]] = {}
    for row in a["by_origin"]:
        c = by_verdict.setdefault(row["verdict"], Counter())
        c["sessions"] += row["sessions"]
        c["bytes_out"] += row["bytes_out"]
    for verdict in ("allowed", "exempt", "access-violation"):
        names = [n for n, e in EXPECTED.items() if e[0] == verdict]
        want = sum(sent[origins[n]] for n in names)
        sessions = len(names) + (verdict == "access-violation")  # China's second, no SYN
        assert a["headline"][verdict] == {**a["headline"][verdict], "sessions": sessions,
                                          "bytes_out": want}  # fmt: skip
        assert by_verdict[verdict] == Counter(sessions=sessions, bytes_out=want)
    assert a["headline"]["accesses"]["bytes_out"] == sum(sent.values())
    assert a["headline"]["unverified"]["sessions"] == 0
    rules = {(u["rule"], u["verdict"]): u for u in a["rules"]}
    for name, (verdict, rule, _weak) in EXPECTED.items():
        if rule:
            assert rules[(rule, verdict)]["bytes_out"] >= sent[origins[name]], name
    assert rules[("vendor-migration", "exempt")]["bytes_out"] == sent[origins["sg-vendor"]]
    assert rules[("oci-us", "allowed")]["bytes_out"] == sent[origins["us-oci"]]
    assert rules[("us-by-country", "allowed")]["bytes_out"] == sent[origins["us-country"]]
    assert a["protected"][0]["sessions"] == len(origins) + 1
    assert doc["headline"]["in_scope"]["flows"] == 0  # accesses are not outbound traffic


def test_the_same_capture_without_an_access_section_sees_outbound_flows(
    world: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, origins = world
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.split("access:")[0])
    pcap = tmp_path / "access.pcapng"
    capture(pcap, origins)
    _, doc = analyze(root, str(pcap), "--policy", str(policy))
    assert doc["access"] is None
    assert doc["headline"]["in_scope"]["flows"] == len(origins) + 1  # turned round, local first


def test_the_report_has_an_access_section_with_its_charts(
    world: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, origins = world
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.format(vendor=origins["sg-vendor"]))
    pcap = tmp_path / "access.pcapng"
    sent = capture(pcap, origins)
    env = {"RESIDENCY_HOME": str(root)}
    out = tmp_path / "report.json"
    run = CliRunner().invoke(main, ["report", str(pcap), "--policy", str(policy), "--out",
                                    str(out)], env=env)  # fmt: skip
    assert run.exit_code == 0, run.output
    report = json.loads(out.read_text())["report"]
    assert report["compliant"] is False
    assert {o["address"] for o in report["access"]["violations"]} == {
        origins["cn"], origins["sg"], origins["us-aws"]}  # fmt: skip
    page = tmp_path / "report.html"
    run = CliRunner().invoke(main, ["report", str(pcap), "--policy", str(policy), "--out",
                                    str(page)], env=env)  # fmt: skip
    assert run.exit_code == 0, run.output
    html = page.read_text()
    section = html[html.index('<section id="access">') :]
    section = section[: section.index("</section>")]
    assert '<a href="#access">Access</a>' in html
    assert 'aria-label="Bytes out by origin country"' in section
    cn = sent[origins["cn"]]
    assert f"<title>CN: violation {cn:,} bytes</title>" in section
    assert f"<title>SG: exempt {sent[origins['sg-vendor']]:,} bytes</title>" in section
    assert f'<span class="mono">{origins["sg"]}</span>' in section


def test_the_terminal_lists_each_access_violation_with_its_evidence(
    world: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, origins = world
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.format(vendor=origins["sg-vendor"]))
    pcap = tmp_path / "access.pcapng"
    sent = capture(pcap, origins)
    run = CliRunner().invoke(main, ["analyze", str(pcap), "--policy", str(policy)],
                             env={"RESIDENCY_HOME": str(root)})  # fmt: skip
    lines = run.stdout.splitlines()
    at = lines.index("Access to protected services (us-user-db):")
    bad = sent[origins["cn"]] + sent[origins["sg"]] + sent[origins["us-aws"]]
    assert lines[at + 5].split() == ["violation", "4", f"{bad:,}"]
    sg = next(line for line in lines if line.startswith(f"  {origins['sg']} "))
    assert sg.split()[1:4] == ["aws", "ap-southeast-1", "SG"]
    assert f"{sent[origins['sg']]:,} B out" in sg and "into us-user-db 10.20.0.10/5432" in sg
