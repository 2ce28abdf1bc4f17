"""`residency analyze` end to end on real captures with the providers' real range files: the
headline must equal numbers computed here independently, from tshark's conversations
(`*.truth.json`), the range files read with `ipaddress`, and DB-IP's CSV read with `csv`."""

from __future__ import annotations

import bisect
import csv
import gzip
import hashlib
import ipaddress
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from agent.cli import main
from tests.support import real_store, tcpdump_selected
from tests.truth import PCAPS, SHARED, truth

CAPTURES = [
    "cs_http_espn.pcapng", "suri_vxlan-decoder-03__vxlan.pcap", "tcpdump_tcp-handshake-nano.pcap",
    "zeek_chromium-115.0.5790.110-api-cirrus-com.pcap", "zeek_tls12-decryption.pcap",
    "zeek_quic-multiple-initial-fragmented-crypto.pcap", "zeek_get.pcap", "cs_dns.pcap",
    "zeek_openjdk-25.0.2-zeek.org.pcap", "tcpdump_dns_tcp.pcap", "scapy_tls_tcp_frag_withnss.pcap",
    "rpp_wireshark_samples-test.pcapng", "tcpdump_geneve.pcap", "zeek_mpls-in-vlan.pcap",
    "zeek_pcapng-multi-interface.pcapng", "tcpdump_quic_handshake.pcap",
    "zeek_firefox-102.13.0esr-blog-cloudflare-com.pcap",
]  # fmt: skip
PROVIDERS = ("aws-ip-ranges.json", "gcp-cloud.json", "oci-public_ip_ranges.json")
EXCLUDED = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "224.0.0.0/4",
            "255.255.255.255/32", "fe80::/10", "ff00::/8"]  # fmt: skip
APPROVED = {("aws", "us-east-1"), ("aws", "us-west-2"), ("gcp", "us-central1")}
POLICY = f"""\
version: 1
name: us-clouds
scope:
  include:
    - local: "::/0"
      protocols: [tcp, udp]
  exclude:
    - name: not-global
      remote: [{", ".join(EXCLUDED)}]
approve:
  - name: aws-us
    provider: aws
    regions: [us-east-1, us-west-2]
  - name: gcp-us
    provider: gcp
    regions: us-central1
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (SHARED / "ranges").is_dir() or not PCAPS.is_dir():
        pytest.skip(f"needs the shared captures and range files in {SHARED} (CI has them)")
    root = tmp_path_factory.mktemp("home")
    real_store(root, PROVIDERS)
    (root / "policy.yaml").write_text(POLICY)
    return root


def analyze(home: Path, *args: str) -> tuple[int, str, str]:
    run = CliRunner().invoke(main, ["analyze", *args], env={"RESIDENCY_HOME": str(home)})
    return run.exit_code, run.stdout, run.stderr


class Places:
    """Who an address belongs to, from the raw files: longest prefix over the provider files
    (AWS `GLOBAL` and GCP `global` are region-less), and DB-IP's ranges for "has a country"."""

    def __init__(self) -> None:
        self.nets: list[tuple[Any, str, str | None]] = []
        aws = json.loads((SHARED / "ranges" / PROVIDERS[0]).read_text())
        for p in aws["prefixes"] + aws["ipv6_prefixes"]:
            net = p.get("ip_prefix") or p["ipv6_prefix"]
            self.add(net, "aws", None if p["region"] == "GLOBAL" else p["region"])
        for p in json.loads((SHARED / "ranges" / PROVIDERS[1]).read_text())["prefixes"]:
            net = p.get("ipv4Prefix") or p["ipv6Prefix"]
            self.add(net, "gcp", None if p["scope"] == "global" else p["scope"])
        for r in json.loads((SHARED / "ranges" / PROVIDERS[2]).read_text())["regions"]:
            for c in r["cidrs"]:
                self.add(c["cidr"], "oci", r["region"])
        self.geo: dict[int, tuple[list[int], list[int]]] = {4: ([], []), 6: ([], [])}
        for path in sorted((SHARED / "geo").glob("*.csv.gz")):
            with gzip.open(path, "rt") as f:
                for first, last, _cc in csv.reader(f):
                    a, b = ipaddress.ip_address(first), ipaddress.ip_address(last)
                    self.geo[a.version][0].append(int(a))
                    self.geo[a.version][1].append(int(b))

    def add(self, net: str, provider: str, region: str | None) -> None:
        self.nets.append((ipaddress.ip_network(net), provider, region))

    def provider(self, addr: str) -> tuple[str, str | None] | None:
        ip = ipaddress.ip_address(addr)
        found = [(n.prefixlen, p, r) for n, p, r in self.nets
                 if n.version == ip.version and ip in n]  # fmt: skip
        return max(found)[1:] if found else None

    def has_country(self, addr: str) -> bool:
        ip = ipaddress.ip_address(addr)
        firsts, lasts = self.geo[ip.version]
        i = bisect.bisect_right(firsts, int(ip)) - 1
        return i >= 0 and int(ip) <= lasts[i]


@pytest.fixture(scope="module")
def places(home: Path) -> Places:
    return Places()


def rank(port: int) -> int:
    """docs/method.md: well-known, registered, ephemeral (Linux: from 32768)."""
    return 0 if port < 1024 else 1 if port < 32768 else 2


def remote(c: dict[str, Any]) -> str:
    """The responder of a tshark conversation (`a` sent first): `a` when its port is the more
    server-like one, as when a capture starts after the handshake; else `b`. (No conversation
    here has a SYN sent from a port of lower rank than its server's.)"""
    return str(c["a_addr"] if rank(c["a_port"]) < rank(c["b_port"]) else c["b_addr"])


def expected(name: str, places: Places) -> dict[str, Counter[str]]:
    """The headline by verdict from tshark's conversations: the responder is remote."""
    flows: Counter[str] = Counter()
    nbytes: Counter[str] = Counter()
    excluded = [ipaddress.ip_network(n) for n in EXCLUDED]
    convs = truth(PCAPS / name)["conversations"]
    for c in convs["tcp"] + convs["udp"]:
        far = remote(c)
        b = ipaddress.ip_address(far)
        found = places.provider(far)
        if any(b.version == n.version and b in n for n in excluded):
            kind = "excluded"
        elif found in APPROVED:
            kind = "approved"
        elif (found and found[1] is None) or (not found and not places.has_country(far)):
            kind = "unverified"
        else:
            kind = "violation"
        flows[kind] += 1
        nbytes[kind] += c["ip_bytes_a_to_b"] + c["ip_bytes_b_to_a"]
    return {"flows": flows, "bytes": nbytes}


@pytest.mark.parametrize("name", CAPTURES)
def test_headline_matches_an_independent_count(home: Path, places: Places, name: str) -> None:
    code, out, err = analyze(home, str(PCAPS / name), "--policy", str(home / "policy.yaml"),
                             "--json")  # fmt: skip
    doc = json.loads(out)
    want = expected(name, places)
    h = doc["headline"]
    for kind in ("approved", "violation", "unverified", "excluded"):
        assert (h[kind]["flows"], h[kind]["bytes"]) == (
            want["flows"][kind], want["bytes"][kind]), kind  # fmt: skip
    inside = sum(want["flows"][k] for k in ("approved", "violation", "unverified"))
    assert h["in_scope"]["flows"] == inside
    assert code == (0 if doc["compliant"] else 1)
    assert doc["compliant"] == (inside == want["flows"]["approved"])
    assert len(doc["violations"]) == len({v["address"] for v in doc["violations"]})
    assert sum(v["flows"] for v in doc["violations"]) == h["violation"]["flows"]
    capture = doc["inputs"]["captures"][0]
    assert capture["sha256"] == hashlib.sha256((PCAPS / name).read_bytes()).hexdigest()


def test_reruns_give_the_same_bytes(home: Path) -> None:
    args = (str(PCAPS / "cs_http_espn.pcapng"), "--policy", str(home / "policy.yaml"), "--json")
    assert analyze(home, *args)[1] == analyze(home, *args)[1]


def test_allow_unverified_changes_only_the_exit_code(home: Path) -> None:
    args = [str(PCAPS / "tcpdump_quic_handshake.pcap"), "--policy", str(home / "policy.yaml")]
    strict, lenient = analyze(home, *args), analyze(home, *args, "--allow-unverified")
    assert (strict[0], lenient[0]) == (1, 0)
    assert strict[1].startswith("NOT COMPLIANT with policy us-clouds: 0 violations, "
                                "1 unverified flow; 0.0% of in-scope bytes approved\n")
    assert lenient[1].startswith("COMPLIANT")


def test_a_damaged_capture_is_analysed_up_to_the_damage(home: Path, tmp_path: Path) -> None:
    whole = (PCAPS / "cs_http_espn.pcapng").read_bytes()
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(whole[: len(whole) // 2] + b"\xff" * 64 + whole[len(whole) // 2 :])
    code, out, err = analyze(home, str(cut), "--policy", str(home / "policy.yaml"), "--json")
    doc = json.loads(out)
    assert code == 5 and err.count("error:") == 1 and str(cut) in err
    assert not doc["complete"] and doc["inputs"]["captures"][0]["error"] in err
    assert 0 < doc["headline"]["in_scope"]["flows"] <= 39


@pytest.mark.parametrize(("args", "code", "message"), [
    (["missing.pcap", "--policy", "{policy}"], 3, "error: missing.pcap: no such file"),
    (["{capture}", "--policy", "missing.yaml"], 3, "error: missing.yaml: no such file"),
    (["{capture}", "--policy", "{bad}"], 8, "error: {bad}:1:1: missing key 'scope'"),
    (["{capture}"], 2, "Missing option '--policy'"),
])  # fmt: skip
def test_bad_input_is_one_line_and_an_exit_code(
    home: Path, tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\napprove: [{provider: oci}]\n")
    fill = {"policy": str(home / "policy.yaml"), "capture": str(PCAPS / "cs_dns.pcap"),
            "bad": str(bad)}  # fmt: skip
    got = analyze(home, *(a.format(**fill) for a in args))
    assert got[0] == code and message.format(**fill) in got[2]
    assert "Traceback" not in got[2]


def test_policy_check_cli(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(POLICY.replace("us-central1", "us-nowhere1").replace("tcp, udp", "tcp, ud"))
    run = CliRunner().invoke(main, ["policy", "check", str(bad)],
                             env={"RESIDENCY_HOME": str(home)})  # fmt: skip
    assert run.exit_code == 8
    lines = run.stdout.splitlines()  # every problem in one run, the file's and the store's
    assert [line.split(": ")[0].removeprefix(f"{bad}:") for line in lines] == [
        "6:24", "13:15", "16:14"]  # fmt: skip
    assert lines[0] == (f"{bad}:6:24: error: unknown protocol 'ud' (use icmp, tcp, udp, "
                        "ipv6-icmp, icmpv6, sctp or a number)")  # fmt: skip
    assert lines[1].startswith(f"{bad}:13:15: warning: region 'us-east-1' covers its own")
    assert lines[2].startswith(f"{bad}:16:14: error: unknown gcp region 'us-nowhere1'")
    good = CliRunner().invoke(main, ["policy", "check", str(home / "policy.yaml")],
                              env={"RESIDENCY_HOME": str(home)})  # fmt: skip
    assert good.exit_code == 0, good.output
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(POLICY.replace("us-central1", "us-nowhere1"))
    run = CliRunner().invoke(main, ["policy", "check", str(unknown)],
                             env={"RESIDENCY_HOME": str(home)})  # fmt: skip
    assert run.exit_code == 8 and (
        f"{unknown}:16:14: error: unknown gcp region 'us-nowhere1': in no stored range file and "
        "no region table") in run.stdout  # fmt: skip


ROOT = Path(__file__).resolve().parents[2]
DEMO_WORLD = ROOT / "pcaps" / "demo-world"


def _demo_verdict(flow: dict[str, Any], places: list[tuple[Any, str, str | None]],
                  countries: list[tuple[Any, str]]) -> str:  # fmt: skip
    """The default policy (rules/policy.yaml), decided here by hand for one flow."""
    src, dst = ipaddress.ip_address(flow["src"]), ipaddress.ip_address(flow["dst"])
    if (flow["proto"], flow["dst"], flow["dport"]) == (6, "10.20.0.10", 5432):
        return "access"  # into the protected database: judged by the access half
    clients = [ipaddress.ip_network(n) for n in ("10.20.0.0/24", "2001:db8:20::/64")]
    if not any(src.version == n.version and src in n for n in clients):
        return "out_of_scope"
    if (flow["dst"] == "10.20.0.2" and flow["dport"] == 53) or dst.is_multicast or (
            dst.is_link_local or dst.is_loopback or flow["dst"] == "255.255.255.255"):
        return "excluded"
    found = [(n.prefixlen, who, where) for n, who, where in places
             if n.version == dst.version and dst in n]  # fmt: skip
    who, where = max(found)[1:] if found else (None, None)
    us_oci = {"us-ashburn-1", "us-phoenix-1", "us-sanjose-1", "us-chicago-1"}
    if (who == "oci" and where in us_oci) or (who == "site" and where == "operator-virginia"):
        return "approved"
    if who == "site" and where == "operator-singapore":
        return "exempt"  # the capture is from 2026-03-02, before the exception's 2027-06-30
    has_country = any(dst.version == n.version and dst in n for n, _ in countries)
    if (who and where is None) or (not who and not has_country):
        return "unverified"
    return "violation"


def test_demo_headline_matches_a_count_by_hand(tmp_path: Path) -> None:
    env = {"RESIDENCY_HOME": str(tmp_path)}
    files = [str(p) for p in sorted(DEMO_WORLD.glob("demo-*"))] + [str(ROOT / "rules/sites.yaml")]
    assert CliRunner().invoke(main, ["ranges", "import", *files], env=env).exit_code == 0
    capture = str(ROOT / "pcaps" / "demo.pcapng")
    listed = CliRunner().invoke(main, ["flows", "--json", capture], env=env)
    flows = [json.loads(line) for line in listed.stdout.splitlines()]
    places: list[tuple[Any, str, str | None]] = []
    for r in json.loads((DEMO_WORLD / "demo-oci-public_ip_ranges.json").read_text())["regions"]:
        places += [(ipaddress.ip_network(c["cidr"]), "oci", r["region"]) for c in r["cidrs"]]
    aws = json.loads((DEMO_WORLD / "demo-aws-ip-ranges.json").read_text())
    for p in aws["prefixes"] + aws["ipv6_prefixes"]:
        region = None if p["region"] == "GLOBAL" else p["region"]
        places.append((ipaddress.ip_network(p.get("ip_prefix") or p["ipv6_prefix"]), "aws", region))
    for site in yaml.safe_load((ROOT / "rules" / "sites.yaml").read_text())["sites"]:
        places += [(ipaddress.ip_network(c), "site", site["name"]) for c in site["cidrs"]]
    countries = []
    rows = (DEMO_WORLD / "demo-dbip-country-lite.csv").read_text().splitlines()
    for first, last, cc in csv.reader(rows):
        a, b = ipaddress.ip_address(first), ipaddress.ip_address(last)
        countries += [(n, cc) for n in ipaddress.summarize_address_range(a, b)]  # type: ignore[arg-type]
    want: dict[str, Counter[str]] = {"flows": Counter(), "bytes": Counter()}
    for f in flows:
        kind = _demo_verdict(f, places, countries)
        want["flows"][kind] += 1
        want["bytes"][kind] += f["bytes_fwd"] + f["bytes_rev"]

    policy = str(ROOT / "rules" / "policy.yaml")
    run = CliRunner().invoke(main, ["analyze", capture, "--policy", policy, "--json"], env=env)
    h = json.loads(run.stdout)["headline"]
    for kind in ("approved", "exempt", "violation", "unverified", "excluded", "out_of_scope"):
        assert (h[kind]["flows"], h[kind]["bytes"]) == (want["flows"][kind],
                                                        want["bytes"][kind]), kind  # fmt: skip
    assert all(want["flows"][k] for k in ("approved", "exempt", "violation", "unverified"))
    assert run.exit_code == 1
    access = json.loads(run.stdout)["access"]
    origins = {f["src"]: f["bytes_rev"] for f in flows if f["dport"] == 5432}
    assert want["flows"]["access"] == len(origins) == 2
    (bad,) = access["violations"]
    assert (bad["address"], bad["site"], bad["bytes_out"]) == (
        "203.0.113.80", "operator-singapore", origins["203.0.113.80"])  # fmt: skip
    assert access["headline"]["allowed"]["bytes_out"] == origins["198.51.100.150"]


def test_a_filtered_analysis_judges_what_tcpdump_selects_and_says_so(
    home: Path, tmp_path: Path
) -> None:
    capture, expr = PCAPS / "cs_http_espn.pcapng", "tcp port 80 and not host 68.71.212.158"
    chosen = tcpdump_selected(capture, expr, tmp_path / "selected.pcap")
    policy = ["--policy", str(home / "policy.yaml")]
    code, out, _ = analyze(home, str(capture), *policy, "--json", "--filter", expr)
    again, theirs, _ = analyze(home, str(tmp_path / "selected.pcap"), *policy, "--json")
    doc, reference = json.loads(out), json.loads(theirs)
    assert code == again
    for key in ("headline", "breakdown", "timeline", "direction", "period"):
        assert doc[key] == reference[key], key
    [read] = doc["inputs"]["captures"]
    assert doc["inputs"]["filter"] == expr and reference["inputs"]["filter"] is None
    assert read["records"] - read["not_selected"] == chosen and read["not_selected"] > 0
    text = analyze(home, str(capture), *policy, "--filter", expr)[1].splitlines()
    assert text[0].endswith(f" (only the capture records that the filter {expr!r} selects)")
    assert f"  filter   {expr!r}: only the capture records it selects" in text
