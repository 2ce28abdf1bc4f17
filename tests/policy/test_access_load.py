"""The policy's `access:` half: read by the one loader, with the same file:line:col errors and
the same `policy check`."""

from __future__ import annotations

from datetime import date

import pytest

from agent.intel.cidr import parse_cidr
from agent.intel.records import Label
from agent.policy.check import Known, check
from agent.policy.load import parse_policy

BASE = """\
version: 1
scope:
  include:
    - local: 10.20.0.0/24
approve:
  - sites: [operator-virginia]
"""
ACCESS = BASE + """\
access:
  protect:
    - name: us-user-db
      networks: [10.20.0.10]
      ports: [5432]
      protocols: [tcp]
    - name: ssh
      ports: 22
      processes: [sshd]
  allow:
    - name: operator-us
      sites: [operator-virginia]
    - name: app-servers
      networks: 10.20.0.0/24
      ports: 5432
    - name: us-staff
      countries: [US]
  exceptions:
    - name: vendor-audit
      reason: The vendor's audit from Singapore, agreed in writing
      networks: [203.0.113.7]
      until: 2026-12-31
"""


def problems(text: str) -> list[str]:
    policy, found = parse_policy(text.encode(), "p.yaml")
    assert (policy is None) == bool(found)
    return [p.at("p.yaml") for p in found]


def test_an_access_section_loads_with_the_serving_side_as_local() -> None:
    policy, found = parse_policy(ACCESS.encode(), "p.yaml")
    assert not found and policy
    a = policy.access
    db, ssh = a.protect
    assert (db.name, db.where) == ("us-user-db", "p.yaml:9")
    assert db.match.local == (parse_cidr("10.20.0.10/32"),)
    assert db.match.local_ports == ((5432, 5432),) and db.match.protocols == frozenset({6})
    assert db.match.remote is None and db.match.ports is None
    assert ssh.match.processes == frozenset({"sshd"})
    sites, apps, staff = a.allow
    assert sites.match.sites == frozenset({"operator-virginia"}) and not sites.match.weak
    assert apps.match.remote == (parse_cidr("10.20.0.0/24"),)
    assert apps.match.local_ports == ((5432, 5432),)
    assert staff.match.weak
    (exc,) = a.exceptions
    assert (exc.name, exc.until, exc.where) == ("vendor-audit", date(2026, 12, 31), "p.yaml:25")
    assert exc.match.remote == (parse_cidr("203.0.113.7/32"),)
    assert [r.name for r in policy.rules][-6:] == [
        "us-user-db", "ssh", "operator-us", "app-servers", "us-staff", "vendor-audit"]  # fmt: skip


def test_no_access_section_protects_nothing() -> None:
    policy, found = parse_policy(BASE.encode(), "p.yaml")
    assert not found and policy
    assert policy.access.protect == () and policy.access.allow == ()


@pytest.mark.parametrize(("text", "expected"), [
    (BASE + "access:\n  allow:\n    - countries: US\n",
     ["p.yaml:8:3: missing key 'protect'"]),
    (BASE + "access:\n  protect: []\n",
     ["p.yaml:8:12: `access.protect` must be a list of rules"]),
    (BASE + "access:\n  protect:\n    - ports: 5432\n  permit: []\n",
     ["p.yaml:10:3: unknown key 'permit' (expected one of allow, exceptions, protect)"]),
    (BASE + "access:\n  protect:\n    - port: 5432\n",
     ["p.yaml:9:7: unknown key 'port' (did you mean 'ports'?)"]),
    (BASE + "access:\n  protect:\n    - name: nothing\n",
     ["p.yaml:9:7: a rule in `access.protect` must select something"]),
    (BASE + "access:\n  protect:\n    - ports: 5432\n      countries: [US]\n",
     ["p.yaml:10:7: unknown key 'countries' (expected one of description, executables, "
      "interfaces, name, networks, ports, processes, protocols, users)"]),
    (BASE + "access:\n  protect:\n    - ports: 99999\n",
     ["p.yaml:9:14: port range out of 0-65535 or reversed: '99999'"]),
    (BASE + "access:\n  protect:\n    - ports: 5432\n  allow:\n    - countries: [usa]\n",
     ["p.yaml:11:19: country must be an ISO 3166-1 alpha-2 code like US, not 'usa'"]),
    (BASE + "access:\n  protect:\n    - ports: 5432\n  allow:\n    - processes: [psql]\n",
     ["p.yaml:11:7: unknown key 'processes' (expected one of border_groups, classes, countries, "
      "description, name, names, networks, ports, protocols, provider, regions, services, "
      "sites)"]),
    (BASE + "access:\n  protect:\n    - ports: 5432\n  exceptions:\n    - name: x\n"
     "      networks: 192.0.2.1\n",
     ["p.yaml:11:7: missing key 'reason'", "p.yaml:11:7: missing key 'until'"]),
    (BASE + "access:\n  protect:\n    - name: db\n      ports: 5432\n  allow:\n    - name: db\n"
     "      countries: US\n",
     ["p.yaml:12:13: rule name 'db' is already used at p.yaml:9"]),
])  # fmt: skip
def test_access_problems_have_line_and_column(text: str, expected: list[str]) -> None:
    assert problems(text) == sorted(expected)


def test_policy_check_reads_the_access_rules_too() -> None:
    text = ACCESS.replace("sites: [operator-virginia]\n    - name: app",
                          "sites: [atlantis]\n    - name: app")
    policy, found = parse_policy(text.encode(), "p.yaml")
    assert policy and not found
    known = Known.of([Label(site="operator-virginia", country="US")])
    got = [(f.problem.at("p.yaml"), f.error) for f in check(policy, known, date(2027, 1, 1))
           if f.problem.line > 7]  # fmt: skip
    assert ("p.yaml:18:15: site 'atlantis' is in no stored sites file (import it with `ranges "
            "import`)", True) in got
    assert ("p.yaml:28:14: exception 'vendor-audit' expired on 2026-12-31: it exempts nothing "
            "after that", False) in got
