"""Answers that cannot be fooled, end to end on real captures and the providers' real range
files: a Local Zone abroad is not its region, weak evidence does not beat strong, and an answer
about nothing (an empty capture, a mistyped or live-only scope) is not a pass; a capture cut
mid-record is incomplete everywhere it is read."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.cli import main
from agent.cli.base import utcnow
from agent.intel.store import Store, read_bytes
from tests.truth import PCAPS, SHARED

PROVIDERS = ("aws-ip-ranges.json", "gcp-cloud.json", "oci-public_ip_ranges.json",
             "azure-servicetags-public.json")  # fmt: skip
TLS = "scapy_tls_tcp_frag_withnss.pcap"
"""One TLS flow, 10.211.55.3 -> 52.87.105.151:443 (aws us-east-1), 17 packets, 7,202 bytes."""
SERVER = "52.87.105.151"
BUE, IAH = "15.220.120.10", "15.181.232.10"
"""In 15.220.120.0/21 (us-east-1-bue-1, Buenos Aires) and 15.181.232.0/21 (us-east-1-iah-1,
Houston), as the AWS file says."""
HEAD = 'version: 1\nname: {name}\nscope:\n  include:\n    - local: "::/0"\n'
REGION = HEAD + "approve:\n  - name: aws-us-east\n    provider: aws\n    regions: [us-east-1]\n"
ZONE = REGION + "  - name: buenos-aires\n    provider: aws\n    border_groups: [us-east-1-bue-1]\n"
WEAK = REGION + "  - name: us-by-country\n    countries: [US]\n"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (SHARED / "ranges").is_dir() or not PCAPS.is_dir():
        pytest.skip(f"needs the shared captures and range files in {SHARED}")
    root = tmp_path_factory.mktemp("home")
    store = Store(root)
    files = [SHARED / "ranges" / n for n in PROVIDERS] + sorted((SHARED / "geo").glob("*.csv.gz"))
    for path in files:
        store.add(read_bytes(str(path)), str(path), utcnow())
    return root


def run(home: Path, *args: str) -> tuple[int, str, str]:
    got = CliRunner().invoke(main, list(args), env={"RESIDENCY_HOME": str(home)})
    return got.exit_code, got.stdout, got.stderr


def policy(tmp_path: Path, text: str, name: str = "us-east") -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text.format(name=name))
    return str(path)


def moved(tmp_path: Path, to: str) -> str:
    """The TLS capture with its server's address replaced (in every packet's IP header)."""
    data = (PCAPS / TLS).read_bytes()
    old, new = socket.inet_aton(SERVER), socket.inet_aton(to)
    assert data.count(old) == 17
    path = tmp_path / f"tls-to-{to}.pcap"
    path.write_bytes(data.replace(old, new))
    return str(path)


def doc(out: str) -> dict:  # type: ignore[type-arg]
    return json.loads(out)


# Point 2: a place is where the traffic ends.


def test_buenos_aires_is_not_us_east_1(home: Path, tmp_path: Path) -> None:
    capture, rules = moved(tmp_path, BUE), policy(tmp_path, REGION)
    code, out, _ = run(home, "analyze", capture, "--policy", rules)
    assert code == 1
    assert out.splitlines()[0] == ("NOT COMPLIANT with policy us-east: 1 violation, 0 unverified "
                                   "flows; 0.0% of in-scope bytes approved")  # fmt: skip
    row = "  aws us-east-1 us-east-1-bue-1            AR  violation             7,202 B      1 flow"
    assert row in out.splitlines()
    d = doc(run(home, "analyze", capture, "--policy", rules, "--json")[1])
    assert d["headline"]["violation"] == {"flows": 1, "bytes": 7202}
    assert d["headline"]["approved"] == {"flows": 0, "bytes": 0}
    assert d["breakdown"] == [{"verdict": "violation", "provider": "aws", "region": "us-east-1",
                               "border_group": "us-east-1-bue-1", "country": "AR", "site": None,
                               "city": "Buenos Aires", "flows": 1, "bytes": 7202}]  # fmt: skip
    [v] = d["violations"]
    assert (v["address"], v["city"], v["notes"]) == (BUE, "Buenos Aires", [
        "us-east-1-bue-1 is a zone of us-east-1 outside the region's country (in AR): rule "
        "'aws-us-east' names the region, which covers its own country only; name the zone in "
        "border_groups to approve it"])  # fmt: skip


def test_buenos_aires_is_approved_only_when_its_zone_is_named(home: Path, tmp_path: Path) -> None:
    code, out, _ = run(home, "analyze", moved(tmp_path, BUE), "--policy",
                       policy(tmp_path, ZONE), "--json")  # fmt: skip
    d = doc(out)
    assert code == 0 and d["compliant"]
    assert d["headline"]["approved"] == {"flows": 1, "bytes": 7202}
    assert [(u["rule"], u["flows"], u["bytes"]) for u in d["approvals"]] == [
        ("buenos-aires", 1, 7202)]


def test_houston_stays_in_us_east_1(home: Path, tmp_path: Path) -> None:
    code, out, _ = run(home, "analyze", moved(tmp_path, IAH), "--policy", policy(tmp_path, REGION))
    assert code == 0
    assert out.splitlines()[0] == ("COMPLIANT with policy us-east: 100.0% of in-scope bytes "
                                   "approved")  # fmt: skip
    row = "  aws us-east-1 us-east-1-iah-1            US  approved              7,202 B      1 flow"
    assert row in out.splitlines()


def test_a_report_splits_a_region_by_place(home: Path, tmp_path: Path) -> None:
    bue, iah = moved(tmp_path, BUE), moved(tmp_path, IAH)
    out = tmp_path / "r.json"
    code, said, _ = run(home, "report", bue, iah, "--policy", policy(tmp_path, REGION),
                        "--out", str(out))  # fmt: skip
    r = json.loads(out.read_text())["report"]
    assert code == 0 and said == (f"{out}: NOT COMPLIANT with policy us-east: 1 violation, "
                                  "0 unverified flows; 50.0% of in-scope bytes approved\n")
    assert [(g["border_group"], g["country"], g["verdicts"]["approved"]["bytes"],
             g["verdicts"]["violation"]["bytes"]) for g in r["breakdown"]["region"]] == [
        ("us-east-1-bue-1", "AR", 0, 7202), ("us-east-1-iah-1", "US", 7202, 0)]  # fmt: skip
    html = tmp_path / "r.html"
    run(home, "report", bue, iah, "--policy", policy(tmp_path, REGION), "--out", str(html))
    page = html.read_text()
    assert "aws us-east-1 us-east-1-bue-1 (AR)" in page
    assert "aws us-east-1 us-east-1-iah-1 (US)" in page


def test_policy_check_names_the_zones_a_region_rule_leaves_out(home: Path, tmp_path: Path) -> None:
    rules = policy(tmp_path, REGION)
    code, out, _ = run(home, "policy", "check", rules)
    assert code == 0
    assert out.splitlines()[0] == (
        f"{rules}:9:15: warning: region 'us-east-1' covers its own country (US) only, not its "
        "zones abroad: us-east-1-bue-1 (AR), us-east-1-lim-1 (PE), us-east-1-qro-1 (MX), "
        "us-east-1-scl-1 (CL); name them in `border_groups` to approve them")
    named = policy(tmp_path, REGION.replace("[us-east-1]\n", "[us-east-1]\n    border_groups: "
                                            "[us-east-1-bue-1]\n"), "named")  # fmt: skip
    assert "covers its own country" not in run(home, "policy", "check", named)[1]


# Point 3: strong evidence wins over weak.


def test_weak_share_is_in_the_headline_of_terminal_and_report(home: Path, tmp_path: Path) -> None:
    """cs_http_espn's 39 flows are placed by DB-IP only (US); the TLS flow by the AWS file."""
    captures = [str(PCAPS / "cs_http_espn.pcapng"), str(PCAPS / TLS)]
    rules = policy(tmp_path, WEAK, "us-weak")
    line = ("COMPLIANT with policy us-weak: 100.0% of in-scope bytes approved, of which 98.8% on "
            "weak evidence only (a name or country data)")  # fmt: skip
    code, out, _ = run(home, "analyze", *captures, "--policy", rules)
    assert code == 0 and out.splitlines()[0] == line
    d = doc(run(home, "analyze", *captures, "--policy", rules, "--json")[1])
    assert d["headline"]["approved"] == {"flows": 40, "bytes": 645999}
    assert d["headline"]["approved_weak"] == {"flows": 39, "bytes": 638797}
    html = tmp_path / "r.html"
    code, said, _ = run(home, "report", *captures, "--policy", rules, "--out", str(html))
    assert code == 0 and said == f"{html}: {line}\n"
    page = html.read_text()
    assert f'<div class="banner compliant" id="verdict">{line}</div>' in page
    assert ('of the approved bytes, <span class="big">98.8%</span> (638,797) on weak evidence '
            "only (a name or country data)") in page


def test_a_country_rule_does_not_approve_what_azure_places(home: Path, tmp_path: Path) -> None:
    """tcpdump_tcp-handshake-nano's one flow ends in azure eastus2: in the US, but no strong
    rule approves azure, and `countries: [US]` is weak."""
    code, out, _ = run(home, "analyze", str(PCAPS / "tcpdump_tcp-handshake-nano.pcap"),
                       "--policy", policy(tmp_path, WEAK, "us-weak"), "--json")  # fmt: skip
    d = doc(out)
    assert code == 1 and d["headline"]["violation"] == {"flows": 1, "bytes": 172}
    [note] = d["violations"][0]["notes"]
    assert note.startswith("rule 'us-by-country' (countries, weak evidence) matched, but azure")
    assert note.endswith("(eastus2, US), which no rule on addresses, providers or sites approves")


def test_policy_check_warns_of_catch_alls_and_live_only_keys(home: Path, tmp_path: Path) -> None:
    text = (HEAD + "      processes: [app, web]\n      users: [svc]\n"
            'approve:\n  - name: anything\n    names: ["*", "*.*", "*.example.com"]\n')
    rules = policy(tmp_path, text, "loose")
    code, out, _ = run(home, "policy", "check", rules)
    live = ("is a live-only key: it matches nothing in captures (`analyze` and `report` on "
            "captures), only in `residency watch`")  # fmt: skip
    star = ("matches every name: a name is weak evidence anyone can claim, so this approves only "
            "destinations that no provider range with a region and no site places")  # fmt: skip
    assert code == 0 and out.splitlines() == [
        f"{rules}:6:19: warning: `processes` {live}",
        f"{rules}:7:15: warning: `users` {live}",
        f"{rules}:10:13: warning: name pattern '*' {star}",
        f"{rules}:10:18: warning: name pattern '*.*' {star}",
        f"{rules}: read: 1 scope, 0 exclusion, 1 approval and 0 exception rules",
    ]


def test_live_only_keys_warn_once_on_captures(home: Path, tmp_path: Path) -> None:
    text = (HEAD + "    - name: app-only\n      local: 10.0.0.0/8\n      processes: [app]\n"
            "      users: [svc]\n" + REGION[len(HEAD):])  # fmt: skip
    rules = policy(tmp_path, text)
    code, _, err = run(home, "analyze", str(PCAPS / TLS), str(PCAPS / TLS), "--policy", rules)
    warned = [w for w in err.splitlines() if "live-only" in w]
    assert code == 0 and warned == [
        f"warning: {rules}: live-only keys match nothing in captures: app-only "
        f"(processes/users, {Path(rules).name}:6)"]


# Point 4: an answer that proves nothing is not a pass.


@pytest.mark.parametrize(("capture", "scope", "reason"), [
    ("tcpdump_empty.pcap", '    - local: "::/0"\n',
     "the captures hold no flows (0 records read)"),
    ("cs_http_espn.pcapng", "    - local: 172.16.1.0/24\n",
     "none of the 39 flows read matched scope.include (us-east.yaml:5)"),
    ("cs_http_espn.pcapng", "    - name: the-app\n      processes: [firefox]\n",
     "every scope.include rule uses live-only keys, which match nothing in captures: the-app "
     "(processes, us-east.yaml:5)"),
    ("cs_http_espn.pcapng", '    - local: "::/0"\n  exclude:\n    - remote: "::/0"\n',
     "all 39 flows selected by scope.include were excluded by scope.exclude"),
])  # fmt: skip
def test_nothing_in_scope_exits_12_and_says_why(home: Path, tmp_path: Path, capture: str,
                                                scope: str, reason: str) -> None:  # fmt: skip
    text = REGION.replace('    - local: "::/0"\n', scope)
    rules = policy(tmp_path, text)
    code, out, err = run(home, "analyze", str(PCAPS / capture), "--policy", rules)
    assert code == 12
    assert out.splitlines()[0] == f"NOTHING IN SCOPE of policy us-east: {reason}"
    assert err.splitlines()[-1] == f"error: nothing in scope: {reason}"
    d = doc(run(home, "analyze", str(PCAPS / capture), "--policy", rules, "--json")[1])
    assert (d["compliant"], d["nothing_in_scope"], d["headline"]["in_scope"]) == (
        False, reason, {"flows": 0, "bytes": 0})
    report = tmp_path / "r.json"
    code, said, _ = run(home, "report", str(PCAPS / capture), "--policy", rules, "--out",
                        str(report))  # fmt: skip
    r = json.loads(report.read_text())["report"]
    assert code == 12 and said == f"{report}: NOTHING IN SCOPE of policy us-east: {reason}\n"
    assert (r["compliant"], r["nothing_in_scope"]) == (False, reason)


def test_a_capture_cut_mid_record_is_incomplete_everywhere(home: Path, tmp_path: Path) -> None:
    """dpkt_truncated_dns_2.pcap: one DNS response, then 7 bytes of a record cut off (tshark:
    "cut short in the middle of a packet")."""
    capture, rules = str(PCAPS / "dpkt_truncated_dns_2.pcap"), policy(tmp_path, REGION)
    cut = ("dpkt_truncated_dns_2.pcap: offset 240: last record cut off (7 of its bytes are in "
           "the file)")
    code, out, _ = run(home, "analyze", capture, "--policy", rules)
    assert code == 1
    assert out.splitlines()[0] == (
        "NOT COMPLIANT with policy us-east: 0 violations, 1 unverified flow; 0.0% of in-scope "
        "bytes approved (INCOMPLETE: a capture is damaged or cut short; see its inputs)")
    assert f"    cut short: {cut}" in out.splitlines()
    d = doc(run(home, "analyze", capture, "--policy", rules, "--json")[1])
    assert d["complete"] is False and d["inputs"]["captures"][0]["warnings"] == [cut]
    assert d["headline"]["unverified"] == {"flows": 1, "bytes": 268}
    html = tmp_path / "r.html"
    run(home, "report", capture, "--policy", rules, "--out", str(html))
    page = html.read_text()
    r = json.loads(page[page.index('id="residency-report">') + 22:].split("</script>")[0])
    assert r["report"]["complete"] is False and r["report"]["coverage"]["cut_short"] == [
        "dpkt_truncated_dns_2.pcap"]
    assert "INCOMPLETE: a capture is damaged or cut short" in page and cut in page


def test_terminal_and_report_round_shares_down_alike(home: Path, tmp_path: Path) -> None:
    """7,202 of 7,374 in-scope bytes approved: 97.66%, which is 97.6% rounded down (to the
    nearest it would be 97.7%), in the terminal and in the report, by the same function."""
    captures = [str(PCAPS / TLS), str(PCAPS / "tcpdump_tcp-handshake-nano.pcap")]
    rules = policy(tmp_path, REGION)
    code, out, _ = run(home, "analyze", *captures, "--policy", rules)
    assert code == 1 and out.splitlines()[0].endswith("; 97.6% of in-scope bytes approved")
    assert "  approved               1   (50.0%)           7,202   (97.6%)" in out.splitlines()
    html = tmp_path / "r.html"
    run(home, "report", *captures, "--policy", rules, "--out", str(html))
    page = html.read_text()
    assert '<span class="big">97.6%</span> of in-scope bytes' in page and "97.7%" not in page


ROOT = Path(__file__).resolve().parents[2]


def test_any_name_does_not_approve_what_aws_places_in_singapore(tmp_path: Path) -> None:
    """The demo world (its own store: invented ranges over documentation space) with
    `names: ["*"]` added to the default policy: the flows that the AWS and OCI files place in
    ap-southeast-1 and eu-frankfurt-1 stay violations; only the region-less CDN (45,530 bytes,
    otherwise unverified) is approved by the name, on weak evidence."""
    world = ROOT / "pcaps" / "demo-world"
    files = [str(p) for p in sorted(world.glob("demo-*"))] + [str(ROOT / "rules/sites.yaml")]
    assert run(tmp_path, "ranges", "import", *files)[0] == 0
    star = tmp_path / "star.yaml"
    star.write_text((ROOT / "rules" / "policy.yaml").read_text().replace(
        "approve:\n", 'approve:\n  - name: any-name\n    names: ["*"]\n'))  # fmt: skip
    capture = str(ROOT / "pcaps" / "demo.pcapng")
    code, out, _ = run(tmp_path, "analyze", capture, "--policy", str(star))
    assert code == 1 and out.splitlines()[0] == (
        "NOT COMPLIANT with policy us-user-traffic: 3 violations, 1 unverified flow; 73.6% of "
        "in-scope bytes approved, of which 12.7% on weak evidence only (a name or country "
        "data); 18.9% exempt under live exceptions; 2 sessions into protected services, 1 access "
        "violation (86,453 bytes out)")
    d = doc(run(tmp_path, "analyze", capture, "--policy", str(star), "--json")[1])
    h = d["headline"]
    assert (h["approved"], h["approved_weak"], h["violation"], h["unverified"]) == (
        {"flows": 6, "bytes": 356197}, {"flows": 1, "bytes": 45530},
        {"flows": 3, "bytes": 28674}, {"flows": 1, "bytes": 7345})  # fmt: skip
    sin = [v for v in d["violations"] if v["region"] == "ap-southeast-1"]
    assert [(v["address"], v["bytes"]) for v in sin] == [("192.0.2.140", 11413),
                                                         ("2001:db8:b000::40", 6983)]
    assert sin[0]["notes"] == [
        "rule 'any-name' (names, weak evidence) matched, but aws syncToken=1772344800 places it "
        "at aws range 192.0.2.128/26 (ap-southeast-1, SG), which no rule on addresses, "
        "providers or sites approves"]


def test_a_policy_without_a_name_is_named_by_its_file(home: Path, tmp_path: Path) -> None:
    rules = policy(tmp_path, REGION.replace("name: {name}\n", ""), "unnamed")
    code, out, _ = run(home, "analyze", str(PCAPS / TLS), "--policy", rules)
    assert code == 0 and out.splitlines()[0] == (
        "COMPLIANT with policy unnamed.yaml: 100.0% of in-scope bytes approved")
