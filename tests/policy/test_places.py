"""The judge on the providers' real range files (AWS, DB-IP), table-driven: a region rule covers
the region's own country only (a Local Zone abroad must be named in `border_groups`), and weak
evidence (names, countries) never approves what a provider range with a region places."""

from __future__ import annotations

import pytest

from agent.intel.parse import parse
from agent.intel.store import read_bytes
from agent.intel.table import RangeTable
from agent.model import Flow
from agent.policy.judge import APPROVED, UNVERIFIED, VIOLATION, Judge
from agent.policy.load import parse_policy
from tests.truth import SHARED

AWS = SHARED / "ranges" / "aws-ip-ranges.json"
DBIP = SHARED / "geo" / "dbip-country-ipv4.csv.gz"
BUE, IAH, IAD, SIN = "15.220.120.10", "15.181.232.10", "52.87.105.151", "13.250.0.1"
"""Buenos Aires (us-east-1-bue-1, AR), Houston (us-east-1-iah-1, US), us-east-1 itself,
ap-southeast-1 (SG): as the AWS file and the region tables place them."""
CDN, US_ONLY, AR_ONLY = "13.32.0.1", "8.8.8.8", "200.45.0.1"
"""An AWS GLOBAL (region-less) range; addresses that only DB-IP places (US, AR)."""
RULES = {
    "region": "provider: aws\n    regions: [us-east-1]",
    "zone": "provider: aws\n    border_groups: [us-east-1-bue-1]",
    "region+zone": "provider: aws\n    regions: [us-east-1]\n    border_groups: [us-east-1-bue-1]",
    "ar": "countries: [AR]",
    "us": "countries: [US]",
    "hu": "countries: [HU]",
    "any-name": 'names: ["*"]',
}


@pytest.fixture(scope="module")
def table() -> RangeTable:
    if not AWS.is_file() or not DBIP.is_file():
        pytest.skip(f"needs the shared range files in {SHARED}")
    return RangeTable.compile([parse("aws", read_bytes(str(AWS)), str(AWS)),
                               parse("dbip-csv", read_bytes(str(DBIP)), str(DBIP))])  # fmt: skip


def judge(table: RangeTable, *rules: str) -> Judge:
    approve = "".join(f"  - name: {r}\n    {RULES[r]}\n" for r in rules)
    text = f'version: 1\nname: t\nscope:\n  include:\n    - local: "::/0"\napprove:\n{approve}'
    policy, problems = parse_policy(text.encode(), "p.yaml")
    assert policy and not problems, problems
    return Judge(policy, table)


def flow(dst: str, name: str = "app.example") -> Flow:
    t = 1_772_460_000_000_000_000
    return Flow(proto=6, src="10.20.0.15", sport=50000, dst=dst, dport=443, depth=0,
                packets_fwd=3, bytes_fwd=300, frame_bytes_fwd=342, packets_rev=2, bytes_rev=200,
                frame_bytes_rev=228, first_ns=t, last_ns=t + 10**9, tcp_flags_fwd=0x1B,
                tcp_flags_rev=0x1B, end="eof", serial=0, names=(("sni", name),))  # fmt: skip


PLACES = [
    # (destination, approval rules in order, verdict, deciding rule, weak)
    (BUE, ("region",), VIOLATION, None, False),
    (BUE, ("zone",), APPROVED, "zone", False),
    (BUE, ("region+zone",), APPROVED, "region+zone", False),
    (BUE, ("region", "ar"), VIOLATION, None, False),
    (IAH, ("region",), APPROVED, "region", False),
    (IAH, ("zone",), VIOLATION, None, False),
    (IAH, ("region+zone",), VIOLATION, None, False),
    (IAD, ("region",), APPROVED, "region", False),
    (IAD, ("zone",), VIOLATION, None, False),
    (SIN, ("region",), VIOLATION, None, False),
]  # fmt: skip
EVIDENCE = [
    (SIN, ("any-name",), VIOLATION, None, False),
    (SIN, ("any-name", "region"), VIOLATION, None, False),
    (IAD, ("any-name", "region"), APPROVED, "region", False),
    (IAD, ("us",), VIOLATION, None, False),
    (BUE, ("ar",), VIOLATION, None, False),
    (US_ONLY, ("us",), APPROVED, "us", True),
    (US_ONLY, ("any-name",), APPROVED, "any-name", True),
    (US_ONLY, ("region", "us"), APPROVED, "us", True),
    (AR_ONLY, ("us",), VIOLATION, None, True),
    (AR_ONLY, ("region",), VIOLATION, None, True),
    (CDN, ("hu",), APPROVED, "hu", True),
    (CDN, ("any-name",), APPROVED, "any-name", True),
    (CDN, ("region",), UNVERIFIED, None, False),
]  # fmt: skip


@pytest.mark.parametrize(("dst", "rules", "verdict", "rule", "weak"), PLACES + EVIDENCE,
                         ids=[f"{c[0]} {'+'.join(c[1])}" for c in PLACES + EVIDENCE])  # fmt: skip
def test_places_and_evidence(table: RangeTable, dst: str, rules: tuple[str, ...], verdict: str,
                             rule: str | None, weak: bool) -> None:  # fmt: skip
    v = judge(table, *rules).judge([flow(dst)])[0]
    assert (v.verdict, v.rule.name if v.rule else None, v.weak) == (verdict, rule, weak)


def test_a_zone_abroad_says_which_rule_named_its_region(table: RangeTable) -> None:
    v = judge(table, "region").judge([flow(BUE)])[0]
    assert (v.answer.border_group, v.answer.country) == ("us-east-1-bue-1", "AR")
    assert v.note == (
        "us-east-1-bue-1 is a zone of us-east-1 outside the region's country (in AR): rule "
        "'region' names the region, which covers its own country only; name the zone in "
        "border_groups to approve it"
    )


def test_weak_evidence_that_strong_evidence_contradicts_is_named(table: RangeTable) -> None:
    v = judge(table, "any-name").judge([flow(SIN, "analytics.app.example")])[0]
    assert v.verdict == VIOLATION and v.note == (
        "rule 'any-name' (names, weak evidence) matched, but aws syncToken=1787411825 places it "
        "at aws range 13.250.0.0/15 (ap-southeast-1, SG), which no rule on addresses, providers "
        "or sites approves"
    )

