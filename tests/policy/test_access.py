"""The access judge, table-driven: which flows are accesses (the SYN, else the port rule; the
serving side local), every allow selector, weak evidence never beating strong, exceptions by
date, and the bytes that left. A small world parsed by the real parsers, over documentation
space."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from agent.findings.access import AccessTally, login
from agent.intel.parse import parse
from agent.intel.table import RangeTable
from agent.model import Flow, Process
from agent.policy.access import ACCESS, ACCESS_VIOLATION, ALLOWED
from agent.policy.judge import EXEMPT, IN, OUT, UNVERIFIED, VIOLATION, Judge
from agent.policy.load import parse_policy

OCI = {"last_updated_timestamp": "2026-01-01T00:00:00.000000", "regions": [
    {"region": "us-ashburn-1", "cidrs": [{"cidr": "192.0.2.0/26", "tags": ["OCI"]}]},
    {"region": "ap-singapore-1", "cidrs": [{"cidr": "192.0.2.64/26", "tags": ["OCI"]}]},
]}  # fmt: skip
AWS = {"syncToken": "1", "createDate": "2026-01-01-00-00-00", "prefixes": [
    {"ip_prefix": "192.0.2.192/26", "region": "GLOBAL", "service": "CLOUDFRONT",
     "network_border_group": "GLOBAL"},
], "ipv6_prefixes": []}  # fmt: skip
SITES = b"""sites:
  - name: virginia
    country: US
    cidrs: [198.51.100.0/25]
  - name: singapore
    country: SG
    cidrs: [203.0.113.0/24]
"""
COUNTRIES = b"192.0.2.0,192.0.2.255,US\n198.51.100.128,198.51.100.255,US\n"
POLICY = """\
version: 1
scope:
  include:
    - name: clients
      local: [10.20.0.0/24]
approve:
  - name: oracle-us
    provider: oci
    regions: [us-ashburn-1]
access:
  protect:
    - name: db
      networks: [10.20.0.10]
      ports: [5432]
      protocols: tcp
    - name: ssh
      ports: 22
    - name: admin
      ports: 9000
      processes: [admin-api]
  allow:
    - name: app-servers
      networks: 10.20.0.0/25
      ports: 5432
    - name: oci-us-staff
      provider: oci
      regions: [us-ashburn-1]
    - name: operator-us
      sites: virginia
    - name: us-by-country
      countries: US
    - name: staff-by-name
      names: ["*.staff.example"]
  exceptions:
    - name: vendor
      networks: 203.0.113.7
      ports: 22
      until: 2026-06-30
      reason: the vendor's audit, agreed in writing
"""
DAY = datetime(2026, 3, 2, 14, tzinfo=UTC)


def ns(when: datetime) -> int:
    return int(when.timestamp()) * 1_000_000_000


def flow(src: str, dst: str, dport: int, sport: int = 50000, how: str = "syn",
         at: datetime = DAY, names: tuple[tuple[str, str], ...] = ()) -> Flow:  # fmt: skip
    t = ns(at)
    return Flow(proto=6, src=src, sport=sport, dst=dst, dport=dport, depth=0, packets_fwd=10,
                bytes_fwd=1_000, frame_bytes_fwd=1_400, packets_rev=8, bytes_rev=50_000,
                frame_bytes_rev=50_320, first_ns=t, last_ns=t + 10**9, tcp_flags_fwd=0x1B,
                tcp_flags_rev=0x1B, end="eof", serial=0, names=names, direction=how)  # fmt: skip


@pytest.fixture(scope="module")
def judge() -> Judge:
    sets = [
        parse("oci", json.dumps(OCI).encode(), "oci.json"),
        parse("aws", json.dumps(AWS).encode(), "aws.json"),
        parse("sites", SITES, "sites.yaml"),
        parse("dbip-csv", COUNTRIES, "countries.csv"),
    ]
    policy, problems = parse_policy(POLICY.encode(), "p.yaml")
    assert not problems and policy
    return Judge(policy, RangeTable.compile(sets))


DB, SSH = ("10.20.0.10", 5432), ("10.20.0.20", 22)
CASES = [
    # (name, flow, scope, verdict, deciding rule, service)
    ("app server on the LAN", flow("10.20.0.5", *DB), ACCESS, ALLOWED, "app-servers", "db"),
    ("LAN outside the allowed half", flow("10.20.0.200", *DB), ACCESS, UNVERIFIED, None, "db"),
    ("allowed network, other service", flow("10.20.0.5", *SSH), ACCESS, UNVERIFIED, None, "ssh"),
    ("oci us region", flow("192.0.2.10", *DB), ACCESS, ALLOWED, "oci-us-staff", "db"),
    ("oci singapore, by a US country row too", flow("192.0.2.70", *DB), ACCESS, ACCESS_VIOLATION,
     None, "db"),
    ("own us site", flow("198.51.100.9", *SSH), ACCESS, ALLOWED, "operator-us", "ssh"),
    ("country data only: weak, nothing stronger", flow("198.51.100.200", *DB), ACCESS, ALLOWED,
     "us-by-country", "db"),
    ("a staff name cannot beat the singapore site",
     flow("10.20.0.10", "203.0.113.9", 40000, sport=5432, how="ports",
          names=(("dns", "x.staff.example"),)), ACCESS,
     ACCESS_VIOLATION, None, "db"),
    ("region-less cdn range: only its country places it", flow("192.0.2.200", *DB), ACCESS,
     ALLOWED, "us-by-country", "db"),
    ("no data at all", flow("2001:db8::1", "10.20.0.10", 5432), ACCESS, UNVERIFIED, None, "db"),
    ("exception, its port", flow("203.0.113.7", *SSH), ACCESS, EXEMPT, "vendor", "ssh"),
    ("exception, not its port", flow("203.0.113.7", *DB), ACCESS, ACCESS_VIOLATION, None, "db"),
    ("exception, the day after",
     flow("203.0.113.7", *SSH, at=datetime(2026, 7, 1, tzinfo=UTC)), ACCESS, ACCESS_VIOLATION,
     "vendor", "ssh"),
    ("no syn: the protected port is the server",
     flow("10.20.0.10", "192.0.2.70", 40000, sport=5432, how="first-packet"), ACCESS,
     ACCESS_VIOLATION,
     None, "db"),
    ("ssh on a host outside the local networks is not ours", flow("10.20.0.5", "192.0.2.70", 22),
     IN, VIOLATION, None, None),
    ("the SYN says the local db host dialled out", flow("10.20.0.10", "192.0.2.70", 40000, 5432),
     IN, VIOLATION, None, None),
    ("process-only rule, no process: offline it protects nothing",
     flow("192.0.2.70", "10.20.0.30", 9000), IN, VIOLATION, None, None),
    ("not protected, not a client", flow("10.30.0.1", "192.0.2.70", 443), OUT, None, None, None),
]  # fmt: skip


@pytest.mark.parametrize(("name", "f", "scope", "verdict", "rule", "service"), CASES,
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_access_verdicts(judge: Judge, name: str, f: Flow, scope: str, verdict: str | None,
                         rule: str | None, service: str | None) -> None:  # fmt: skip
    v = judge.judge([f])[0]
    got = (v.scope, v.verdict, v.rule.name if v.rule else None,
           v.service.name if v.service else None)  # fmt: skip
    assert got == (scope, verdict, rule, service)
    if v.scope == ACCESS:
        assert (v.flow.dst, v.flow.dport) in (DB, SSH)  # seen from the origin
        assert v.answer.address == v.flow.src


def test_the_bytes_out_are_what_the_service_sent() -> None:
    policy, _ = parse_policy(POLICY.encode(), "p.yaml")
    assert policy
    j = Judge(policy, RangeTable.compile([]))
    syn, mid = flow("192.0.2.70", *DB), flow("10.20.0.10", "192.0.2.70", 40000, 5432, "ports")
    a, b = j.judge([syn, mid])
    assert (a.flow.bytes_rev, a.flow.bytes_fwd) == (50_000, 1_000)
    assert (b.flow.src, b.flow.sport, b.flow.bytes_rev, b.flow.bytes_fwd) == (
        "192.0.2.70", 40000, 1_000, 50_000)  # fmt: skip
    assert (a.flow.direction, b.flow.direction) == ("syn", "ports")


def test_weak_allow_overruled_says_where_strong_evidence_places_it(judge: Judge) -> None:
    v = judge.judge([flow("10.20.0.10", "203.0.113.9", 40000, 5432, "ports",
                          names=(("dns", "x.staff.example"),))])[0]  # fmt: skip
    assert v.verdict == ACCESS_VIOLATION and not v.weak
    assert v.note.startswith("rule 'staff-by-name' (names, weak evidence) matched, but ")
    assert "site singapore (203.0.113.0/24, SG)" in v.note


def test_an_allow_on_names_counts_for_an_origin_nothing_places(judge: Judge) -> None:
    v = judge.judge([flow("10.20.0.10", "2001:db8::7", 40000, 5432, "ports",
                          names=(("dns", "ops.staff.example"),))])[0]  # fmt: skip
    assert (v.verdict, v.rule and v.rule.name, v.weak) == (ALLOWED, "staff-by-name", True)


def test_live_protect_names_the_serving_process(judge: Judge) -> None:
    f = flow("192.0.2.70", "10.20.0.30", 9000)
    api = Process(77, "admin-api", "/usr/bin/admin-api", "svc")
    v = judge.judge([f], ["eth0"], [api])[0]
    assert (v.scope, v.verdict, v.service and v.service.name) == (ACCESS, ACCESS_VIOLATION,
                                                                   "admin")
    assert v.process == api
    assert v.evidence()["service"] == {"name": "admin", "where": "p.yaml:18"}
    assert judge.judge([f], ["eth0"], [Process(78, "other")])[0].scope == IN


def test_no_access_section_changes_nothing() -> None:
    text = POLICY.split("access:")[0]
    policy, _ = parse_policy(text.encode(), "p.yaml")
    assert policy
    v = Judge(policy, RangeTable.compile([])).judge([flow("192.0.2.70", *DB)])[0]
    assert (v.scope, v.service, v.flow.src) == (IN, None, "10.20.0.10")  # turned round, outbound
    assert "service" not in v.evidence()


@pytest.mark.parametrize(("cmdline", "who"), [
    (("sshd: alice [priv]",), "alice"),
    (("sshd: alice@pts/0",), "alice"),
    (("sshd-session: bob [net]",), "bob"),
    (("sshd: unknown [priv]",), ""),
    (("sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups",), ""),
    (("postgres: alice us_users 192.0.2.70(41000) SELECT",), ""),
])  # fmt: skip
def test_the_login_sshd_names_in_its_title(cmdline: tuple[str, ...], who: str) -> None:
    assert login(Process(9, "sshd", "/usr/sbin/sshd", "root", cmdline)) == who


def test_a_violation_names_the_serving_process_user_and_login(judge: Judge) -> None:
    proc = Process(4001, "sshd", "/usr/sbin/sshd", "root", ("sshd: alice [priv]",))
    v = judge.judge([flow("192.0.2.70", *SSH)], ["eth0"], [proc])[0]
    t = AccessTally()
    t.add(v, "live")
    (origin,) = t.origins.values()
    assert (origin.processes, origin.users, origin.logins) == (
        {"sshd (pid 4001, root)"}, {"root"}, {"alice"})  # fmt: skip
    assert t.totals[ACCESS_VIOLATION].bytes_out == 50_000
