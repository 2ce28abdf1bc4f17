"""The judge, table-driven: every selector, every verdict, exceptions before, on and after their
date, IPv4-mapped IPv6 and scoped addresses. The range data is a small world parsed by the real
parsers from the providers' formats, over documentation space."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from agent.intel.lookup import unmapped
from agent.intel.parse import parse
from agent.intel.table import RangeTable
from agent.model import Flow, Process
from agent.policy.judge import (
    APPROVED,
    EXCLUDED,
    EXEMPT,
    IN,
    OUT,
    UNVERIFIED,
    VIOLATION,
    Judge,
)
from agent.policy.load import parse_policy
from agent.policy.model import Policy

OCI = {"last_updated_timestamp": "2026-01-01T00:00:00.000000", "regions": [
    {"region": "us-ashburn-1", "cidrs": [{"cidr": "192.0.2.0/26", "tags": ["OCI"]}]},
    {"region": "eu-frankfurt-1", "cidrs": [{"cidr": "192.0.2.64/26", "tags": ["OCI"]}]},
]}  # fmt: skip
AWS = {"syncToken": "1", "createDate": "2026-01-01-00-00-00", "prefixes": [
    {"ip_prefix": "192.0.2.128/26", "region": "ap-southeast-1", "service": "EC2",
     "network_border_group": "ap-southeast-1"},
    {"ip_prefix": "192.0.2.192/26", "region": "GLOBAL", "service": "CLOUDFRONT",
     "network_border_group": "GLOBAL"},
], "ipv6_prefixes": [
    {"ipv6_prefix": "2001:db8:b000::/40", "region": "us-east-1", "service": "EC2",
     "network_border_group": "us-east-1"},
]}  # fmt: skip
SITES = b"""sites:
  - name: virginia
    country: US
    cidrs: [198.51.100.0/25, 2001:db8:100::/48]
  - name: singapore
    country: SG
    cidrs: [203.0.113.0/24]
"""
POLICY = """\
version: 1
scope:
  include:
    - name: clients
      local: [10.20.0.0/24, 2001:db8:20::/64, fe80::/10]
    - name: by-name
      local: 10.99.0.0/24
      names: ["*.us.app.example"]
    - name: live-only
      local: 10.77.0.0/24
      processes: [app]
      interfaces: [eth0]
  exclude:
    - name: resolver
      remote: 10.20.0.2
      ports: 53
      protocols: udp
    - name: local-only
      classes: [multicast, link-local]
approve:
  - name: oracle-us
    provider: oci
    regions: [us-ashburn-1]
  - name: own-us
    sites: virginia
  - name: aws-us-web
    provider: aws
    regions: us-east-1
    ports: 8000-8100
  - name: by-country
    countries: US
exceptions:
  - name: backup
    sites: singapore
    protocols: tcp
    until: 2026-06-30
    reason: phase-out
  - name: pilot
    networks: 192.0.2.70
    since: 2026-07-01
    until: 2026-12-31
    reason: a pilot in a non-US region
"""
DAY = datetime(2026, 3, 2, 14, tzinfo=UTC)


def ns(when: datetime) -> int:
    return int(when.timestamp()) * 1_000_000_000


def flow(src: str, dst: str, dport: int = 443, proto: int = 6, at: datetime = DAY,
         names: tuple[tuple[str, str], ...] = ()) -> Flow:  # fmt: skip
    t = ns(at)
    return Flow(proto=proto, src=src, sport=50000, dst=dst, dport=dport, depth=0, packets_fwd=3,
                bytes_fwd=300, frame_bytes_fwd=342, packets_rev=2, bytes_rev=200,
                frame_bytes_rev=228, first_ns=t, last_ns=t + 10**9, tcp_flags_fwd=0x1B,
                tcp_flags_rev=0x1B, end="eof", serial=0, names=names)  # fmt: skip


@pytest.fixture(scope="module")
def judge() -> Judge:
    sets = [
        parse("oci", json.dumps(OCI).encode(), "oci.json"),
        parse("aws", json.dumps(AWS).encode(), "aws.json"),
        parse("sites", SITES, "sites.yaml"),
    ]
    policy, problems = parse_policy(POLICY.encode(), "p.yaml")
    assert not problems and policy
    return Judge(policy, RangeTable.compile(sets))


CASES = [
    # (name, flow, scope, verdict, deciding rule)
    ("oci us region", flow("10.20.0.15", "192.0.2.10"), IN, APPROVED, "oracle-us"),
    ("oci other region", flow("10.20.0.15", "192.0.2.64"), IN, VIOLATION, None),
    ("site, ipv6", flow("2001:db8:20::15", "2001:db8:100::20"), IN, APPROVED, "own-us"),
    ("ipv4-mapped ipv6 peer", flow("10.20.0.15", "::ffff:192.0.2.10"), IN, APPROVED, "oracle-us"),
    ("ipv4-mapped local", flow("::ffff:10.20.0.15", "192.0.2.10"), IN, APPROVED, "oracle-us"),
    ("scoped local, link-local peer", flow("fe80::1%eth0", "fe80::2%eth0"), EXCLUDED, None,
     "local-only"),
    ("scoped local, global peer", flow("fe80::1%eth0", "192.0.2.10"), IN, APPROVED, "oracle-us"),
    ("not a client", flow("10.30.0.7", "192.0.2.10"), OUT, None, None),
    ("resolver excluded", flow("10.20.0.15", "10.20.0.2", 53, 17), EXCLUDED, None, "resolver"),
    ("resolver over tcp is not", flow("10.20.0.15", "10.20.0.2", 53, 6), IN, UNVERIFIED, None),
    ("multicast excluded", flow("10.20.0.15", "224.0.0.251", 5353, 17), EXCLUDED, None,
     "local-only"),
    ("region-less cdn", flow("10.20.0.15", "192.0.2.200"), IN, UNVERIFIED, None),
    ("no data", flow("10.20.0.15", "2001:db8:ffff::1"), IN, UNVERIFIED, None),
    ("aws in region, port in range", flow("10.20.0.15", "2001:db8:b000::1", 8080), IN, APPROVED,
     "aws-us-web"),
    ("aws in region, port out of range: a country rule may not approve what aws places",
     flow("10.20.0.15", "2001:db8:b000::1", 443), IN, VIOLATION, None),
    ("aws non-us", flow("10.20.0.15", "192.0.2.130"), IN, VIOLATION, None),
    ("exception, before its date", flow("10.20.0.15", "203.0.113.5"), IN, EXEMPT, "backup"),
    ("exception, on its last day",
     flow("10.20.0.15", "203.0.113.5", at=datetime(2026, 6, 30, 23, 59, 59, tzinfo=UTC)), IN,
     EXEMPT, "backup"),
    ("exception, the day after",
     flow("10.20.0.15", "203.0.113.5", at=datetime(2026, 7, 1, tzinfo=UTC)), IN, VIOLATION,
     "backup"),
    ("exception, other protocol", flow("10.20.0.15", "203.0.113.5", 443, 17), IN, VIOLATION, None),
    ("exception, before `since`", flow("10.20.0.15", "192.0.2.70", at=DAY), IN, VIOLATION,
     "pilot"),
    ("exception, from `since`",
     flow("10.20.0.15", "192.0.2.70", at=datetime(2026, 7, 1, tzinfo=UTC)), IN, EXEMPT, "pilot"),
    ("scope by name", flow("10.99.0.5", "192.0.2.10", names=(("sni", "api.us.app.example"),)),
     IN, APPROVED, "oracle-us"),
    ("scope by name, case and dot",
     flow("10.99.0.5", "192.0.2.10", names=(("dns", "API.US.APP.EXAMPLE."),)), IN, APPROVED,
     "oracle-us"),
    ("scope by name, other name", flow("10.99.0.5", "192.0.2.10", names=(("sni", "x.example"),)),
     OUT, None, None),
    ("live-only selectors never match offline", flow("10.77.0.5", "192.0.2.10"), OUT, None, None),
]  # fmt: skip


@pytest.mark.parametrize(("name", "f", "scope", "verdict", "rule"), CASES,
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_verdicts(judge: Judge, name: str, f: Flow, scope: str, verdict: str | None,
                  rule: str | None) -> None:  # fmt: skip
    v = judge.judge([f])[0]
    assert (v.scope, v.verdict, v.rule.name if v.rule else None) == (scope, verdict, rule)
    assert v.flow._replace(direction=f.direction) == f  # all here are seen from their local side


def test_expired_exception_says_so(judge: Judge) -> None:
    late = flow("10.20.0.15", "203.0.113.5", at=datetime(2026, 7, 1, tzinfo=UTC))
    assert judge.judge([late])[0].note == "exception 'backup' ended 2026-06-30"
    early = flow("10.20.0.15", "192.0.2.70", at=datetime(2026, 3, 1, tzinfo=UTC))
    assert judge.judge([early])[0].note == "exception 'pilot' starts 2026-07-01"


def test_live_selectors_match_with_process_and_interface(judge: Judge) -> None:
    f = flow("10.77.0.5", "192.0.2.10")
    app = Process(10, "app", "/usr/bin/app", "svc")
    assert judge.judge([f], ["eth0"], [app])[0].verdict == APPROVED
    assert judge.judge([f], ["eth1"], [app])[0].scope == OUT
    assert judge.judge([f], ["eth0"], [Process(11, "other")])[0].scope == OUT
    assert judge.judge([f], ["eth0"], [None])[0].scope == OUT


def test_a_country_rule_is_overruled_by_a_region_and_unplaced_reasons(judge: Judge) -> None:
    by_country = judge.judge([flow("10.20.0.15", "2001:db8:b000::1", 443)])[0]
    by_range = judge.judge([flow("10.20.0.15", "2001:db8:b000::1", 8080)])[0]
    assert (by_country.verdict, by_country.weak, by_range.weak) == (VIOLATION, False, False)
    assert by_country.note == (
        f"rule 'by-country' (countries, weak evidence) matched, but {by_country.answer.source} "
        "places it at aws range 2001:db8:b000::/40 (us-east-1, US), which no rule on addresses, "
        "providers or sites approves"
    )
    assert judge.judge([flow("10.20.0.15", "2001:db8:ffff::1")])[0].note == (
        "no range data covers this address (documentation)"
    )
    cdn = judge.judge([flow("10.20.0.15", "192.0.2.200")])[0]
    assert cdn.note == "aws range 192.0.2.192/26 has no region"


def test_contradiction_is_reported() -> None:
    policy, _ = parse_policy(POLICY.encode(), "p.yaml")
    assert policy
    j = Judge(policy, RangeTable.compile([parse("sites", SITES, "s.yaml")]))
    named = flow("10.20.0.15", "198.51.100.9", names=(("sni", "s3.ap-southeast-1.amazonaws.com"),))
    v = j.judge([named])[0]
    assert v.verdict == APPROVED
    assert v.contradictions == (
        "sni name s3.ap-southeast-1.amazonaws.com names region ap-southeast-1 (SG) but the "
        "address is placed in US by sites unversioned",
    )


@pytest.mark.parametrize(("text", "plain"), [
    ("::ffff:192.0.2.1", "192.0.2.1"), ("::FFFF:c000:201", "192.0.2.1"),
    ("fe80::1%eth0", "fe80::1"), ("2001:db8::1", "2001:db8::1"), ("10.0.0.1", "10.0.0.1"),
])  # fmt: skip
def test_unmapped(text: str, plain: str) -> None:
    assert unmapped(text) == plain


def test_answers_are_cached_per_address(judge: Judge) -> None:
    a = judge.judge([flow("10.20.0.15", "192.0.2.10")])[0].answer
    b = judge.judge([flow("10.20.0.16", "192.0.2.10")])[0].answer
    assert a is b


def test_policy_is_kept_whole() -> None:
    policy, _ = parse_policy(POLICY.encode(), "p.yaml")
    assert isinstance(policy, Policy) and policy.text == POLICY and len(policy.sha256) == 64
