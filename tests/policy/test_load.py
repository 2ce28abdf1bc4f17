"""Policy files: every mistake is found, each as file:line:col, and the shipped policy loads."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from agent.errors import PolicyError
from agent.intel.records import Label
from agent.policy.check import Known, check
from agent.policy.load import load_policy, parse_policy

ROOT = Path(__file__).resolve().parents[2]
GOOD = """\
version: 1
scope:
  include:
    - local: 10.0.0.0/8
approve:
  - provider: oci
    regions: [us-ashburn-1]
"""


def problems(text: str) -> list[str]:
    policy, found = parse_policy(text.encode(), "p.yaml")
    assert (policy is None) == bool(found)
    return [p.at("p.yaml") for p in found]


def test_a_good_policy_loads_with_rule_positions() -> None:
    policy, found = parse_policy(GOOD.encode(), "p.yaml")
    assert not found and policy
    (rule,) = policy.approve
    assert rule.name == "approve[0]" and rule.where == "p.yaml:6"
    assert [(s.key, s.value, s.line, s.col) for s in rule.spots] == [
        ("provider", "oci", 6, 15), ("regions", "us-ashburn-1", 7, 15)]  # fmt: skip


def test_the_shipped_policy_loads() -> None:
    policy = load_policy(str(ROOT / "rules" / "policy.yaml"))
    assert [r.name for r in policy.approve] == ["oracle-us", "operator-us-sites"]
    assert [e.name for e in policy.exceptions] == ["singapore-backup"]


@pytest.mark.parametrize(("text", "expected"), [
    (GOOD.replace("regions:", "region:"),
     ["p.yaml:7:5: unknown key 'region' (did you mean 'regions'?)"]),
    (GOOD.replace("10.0.0.0/8", "10.0.0.1/8"),
     ["p.yaml:4:14: host bits set in '10.0.0.1/8' (the network is 10.0.0.0/8)"]),
    (GOOD.replace("provider: oci", "provider: oracle"),
     ["p.yaml:6:15: unknown provider 'oracle' (one of oci, aws, azure, gcp)"]),
    (GOOD.replace("version: 1", "version: 2"),
     ["p.yaml:1:10: unsupported policy version '2' (this residency reads 1)"]),
    (GOOD.replace("version: 1\n", ""), ["p.yaml:1:1: missing key 'version'"]),
    (GOOD.replace("[us-ashburn-1]", "[]"),
     ["p.yaml:7:14: empty list: it would match nothing; leave the key out instead"]),
    (GOOD + "exceptions:\n  - name: x\n    sites: sg\n    until: 2026-13-01\n    reason: r\n",
     ["p.yaml:11:12: not a date (YYYY-MM-DD): '2026-13-01'"]),
    (GOOD + "exceptions:\n  - name: x\n    sites: sg\n",
     ["p.yaml:9:5: missing key 'reason'", "p.yaml:9:5: missing key 'until'"]),
    (GOOD.replace("local: 10.0.0.0/8", "local: 10.0.0.0/8\n      ports: 70000"),
     ["p.yaml:5:14: port range out of 0-65535 or reversed: '70000'"]),
    (GOOD.replace("local: 10.0.0.0/8", "local: 10.0.0.0/8\n      protocols: [tcp, gre]"),
     ["p.yaml:5:24: unknown protocol 'gre' (use icmp, tcp, udp, ipv6-icmp, icmpv6, sctp or a "
      "number)"]),
    (GOOD.replace("  - provider", "  - name: a\n    local: 10.0.0.0/8\n  - provider"),
     ["p.yaml:7:5: unknown key 'local' (expected one of border_groups, countries, description, "
      "name, names, networks, ports, protocols, provider, regions, services, sites)"]),
    (GOOD.replace("    - local", "    - name: a\n      local").replace("  - provider",
                                                                  "  - name: a\n    provider"),
     ["p.yaml:7:11: rule name 'a' is already used at p.yaml:4"]),
    ("version: 1\nscope: [\n",
     ["p.yaml:3:1: invalid YAML: expected the node content, but found '<stream end>'"]),
    ("- a list\n", ["p.yaml:1:1: a policy is a mapping with `version`, `scope` and `approve`"]),
])  # fmt: skip
def test_problems_are_reported_with_line_and_column(text: str, expected: list[str]) -> None:
    assert problems(text) == sorted(expected)


def test_every_problem_is_listed_not_just_the_first() -> None:
    text = GOOD.replace("10.0.0.0/8", "10.0.0.0/33").replace("oci", "oracle") + "extra: 1\n"
    found = problems(text)
    assert len(found) == 3 and [f.split(":")[1] for f in found] == ["4", "6", "8"]


def test_not_utf8() -> None:
    _, found = parse_policy(b"version: 1\nname: \xff\n", "p.yaml")
    assert [p.at("p.yaml") for p in found] == ["p.yaml:2:1: not UTF-8 text"]


def test_load_raises_the_first_problem(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(GOOD.replace("oci", "oracle"))
    with pytest.raises(PolicyError) as err:
        load_policy(str(path))
    assert str(err.value) == f"{path}:6:15: unknown provider 'oracle' (one of oci, aws, azure, gcp)"
    assert err.value.exit_code == 8


def test_check_against_stored_data_and_today() -> None:
    text = GOOD.replace("[us-ashburn-1]", "[us-ashburn-1, us-chicago-1, us-nowhere-9]") + (
        "  - sites: [virginia, atlantis]\n"
        "exceptions:\n  - name: x\n    sites: virginia\n    until: 2026-06-30\n    reason: r\n"
    )
    policy, found = parse_policy(text.encode(), "p.yaml")
    assert policy and not found
    known = Known.of([Label("oci", "us-ashburn-1"), Label(site="virginia", country="US")])
    got = [(f.problem.at("p.yaml"), f.error) for f in check(policy, known, date(2026, 7, 1))]
    assert got == [
        ("p.yaml:7:29: oci region 'us-chicago-1' is in no stored range file (it is a known "
         "region; import newer range data if it should match)", False),
        ("p.yaml:7:43: unknown oci region 'us-nowhere-9': in no stored range file and no region "
         "table", True),
        ("p.yaml:8:23: site 'atlantis' is in no stored sites file (import it with `ranges "
         "import`)", True),
        ("p.yaml:12:12: exception 'x' expired on 2026-06-30: it exempts nothing after that",
         False),
    ]
    assert [f.problem.line for f in check(policy, None, date(2026, 6, 30))] == []
