"""Flows + lookup answers -> one verdict each, with the evidence that decided it.

Pure: the lookup table, the policy and the flows come in; nothing reads a clock (an exception's
date is compared with the flow's own first packet time), so a replayed capture gets the same
verdicts every time.

The order, for each flow, once its local side is known (`orient`: the policy's local networks,
else the flow table's initiator):
  1. out of scope unless a `scope.include` rule selects it;
  2. excluded (counted, reported) if a `scope.exclude` rule selects it;
  3. approved by the first `approve` rule its destination matches;
  4. exempt by a live exception; an exception past its `until` date no longer exempts;
  5. otherwise unverified when the destination cannot be placed (no data at all, or a
     provider's region-less range), else a violation.
"""

from __future__ import annotations

import fnmatch
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from agent.intel.cidr import Cidr, parse_address
from agent.intel.lookup import lookup
from agent.intel.regions import AWS, AZURE, GCP, OCI
from agent.intel.table import Answer, RangeTable
from agent.model import Flow, Process
from agent.policy.model import Exception_, Match, Policy, Rule
from agent.policy.orient import local_networks, orient

APPROVED, VIOLATION, EXEMPT, UNVERIFIED = "approved", "violation", "exempt", "unverified"
VERDICTS = (APPROVED, VIOLATION, EXEMPT, UNVERIFIED)
IN, OUT, EXCLUDED = "in", "out", "excluded"
ANSWER_CACHE = 200_000
"""Distinct remote addresses whose answers are kept; past this the cache starts over, so a
long-running daemon stays bounded."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the policy says about one flow, and why."""

    flow: Flow
    scope: str
    """IN, OUT or EXCLUDED."""
    verdict: str | None
    """For flows in scope: APPROVED, VIOLATION, EXEMPT or UNVERIFIED."""
    rule: Rule | None
    """The rule that decided: the exclusion, approval or exception (None: no rule did)."""
    answer: Answer
    """Who and where the remote address is, with the source version that said it."""
    weak: bool = False
    """The decision rests on weak evidence: a country, or a name seen on the wire."""
    note: str = ""
    contradictions: tuple[str, ...] = ()
    """Names that say one place while the address is placed in another."""
    process: Process | None = None

    def evidence(self) -> dict[str, Any]:
        """The verdict in its JSON form, without the flow and process (kept beside it)."""
        rule = self.rule
        return {
            "scope": self.scope, "verdict": self.verdict,
            "rule": None if rule is None else {"name": rule.name, "where": rule.where},
            "answer": self.answer.as_dict(), "weak": self.weak, "note": self.note,
            "contradictions": list(self.contradictions),
        }  # fmt: skip


class Judge:
    def __init__(self, policy: Policy, table: RangeTable) -> None:
        self.policy, self.table = policy, table
        self._answers: dict[str, Answer] = {}
        self._local = local_networks(policy)

    def judge(
        self, flows: Sequence[Flow], interfaces: Sequence[str | None] | None = None,
        processes: Sequence[Process | None] | None = None,
    ) -> list[Verdict]:  # fmt: skip
        """Verdicts for flows, in order, each flow seen from its local side. `interfaces` and
        `processes`, when known (live mode), line up with `flows`."""
        flows = [orient(f, self._local) for f in flows]
        answers = self.answers([f.dst for f in flows])
        n = len(flows)
        ifaces = interfaces or [None] * n
        procs = processes or [None] * n
        return [
            self.one(f, answers[f.dst], i, p) for f, i, p in zip(flows, ifaces, procs, strict=True)
        ]

    def answers(self, addresses: Iterable[str]) -> dict[str, Answer]:
        """Lookup answers for addresses, one probe per new distinct address."""
        new = sorted({a for a in addresses if a not in self._answers})
        if len(self._answers) + len(new) > ANSWER_CACHE:
            self._answers.clear()
        if new:
            found = lookup(self.table, [unmapped(a) for a in new])
            self._answers.update((a, ans) for a, ans in zip(new, found, strict=True))
        return self._answers

    def one(self, flow: Flow, answer: Answer, iface: str | None = None,
            proc: Process | None = None) -> Verdict:  # fmt: skip
        facts = Facts(flow, answer, iface, proc)
        p = self.policy
        if not any(facts.matches(r.match) for r in p.include):
            return Verdict(flow, OUT, None, None, answer, process=proc)
        excluded = next((r for r in p.exclude if facts.matches(r.match)), None)
        if excluded:
            return Verdict(flow, EXCLUDED, None, excluded, answer, process=proc)
        odd = contradictions(flow.names, answer)
        approved = next((r for r in p.approve if facts.matches(r.match)), None)
        if approved:
            weak = approved.match.weak
            return Verdict(flow, IN, APPROVED, approved, answer, weak, "", odd, proc)
        day = datetime.fromtimestamp(flow.first_ns / 1e9, UTC).date()
        expired: Exception_ | None = None
        for exc in p.exceptions:
            if facts.matches(exc.match):
                if live(exc, day):
                    return Verdict(flow, IN, EXEMPT, exc, answer, exc.match.weak, "", odd, proc)
                expired = expired or exc
        if expired:
            note = f"exception {expired.name!r} ended {expired.until.isoformat()}"
            if expired.since and day < expired.since:
                note = f"exception {expired.name!r} starts {expired.since.isoformat()}"
            return Verdict(flow, IN, VIOLATION, expired, answer, False, note, odd, proc)
        why = unplaced(answer)
        if why:
            return Verdict(flow, IN, UNVERIFIED, None, answer, False, why, odd, proc)
        weak = answer.provider is None and answer.site is None
        note = "placed by country data only" if weak else ""
        return Verdict(flow, IN, VIOLATION, None, answer, weak, note, odd, proc)


def live(exc: Exception_, day: date) -> bool:
    """An exception holds from `since` through `until`, both whole UTC days."""
    return (exc.since is None or exc.since <= day) and day <= exc.until


def unplaced(answer: Answer) -> str:
    """Why a destination cannot be placed, or "" when it can."""
    if answer.provider and not answer.region and not answer.site:
        return f"{answer.provider} range {answer.prefix} has no region"
    if not (answer.provider or answer.site or answer.country):
        return "no range data covers this address" + (
            f" ({answer.klass})" if answer.klass != "global" else ""
        )
    return ""


def unmapped(address: str) -> str:
    """An IPv4-mapped IPv6 address (::ffff:a.b.c.d, as dual-stack sockets show IPv4 peers)
    as the IPv4 address it is; a zone index (fe80::1%eth0) dropped."""
    address = address.split("%", 1)[0]
    if address.startswith("::ffff:") and "." in address:
        return address[7:]
    if ":" in address:
        value = int.from_bytes(socket.inet_pton(socket.AF_INET6, address), "big")
        if value >> 32 == 0xFFFF:
            return socket.inet_ntop(socket.AF_INET, (value & 0xFFFF_FFFF).to_bytes(4, "big"))
    return address


class Facts:
    """One flow as the policy sees it: its sides, its destination's answer, its names."""

    __slots__ = ("flow", "answer", "iface", "proc", "_local", "_remote", "_names")

    def __init__(self, flow: Flow, answer: Answer, iface: str | None, proc: Process | None):
        self.flow, self.answer, self.iface, self.proc = flow, answer, iface, proc
        self._local = _value(flow.src)
        self._remote = _value(flow.dst)
        self._names = tuple(name for _, name in flow.names)

    def matches(self, m: Match) -> bool:
        f, a, proc = self.flow, self.answer, self.proc
        return (
            (m.protocols is None or f.proto in m.protocols)
            and (m.ports is None or any(lo <= f.dport <= hi for lo, hi in m.ports))
            and (m.local is None or _within(self._local, m.local))
            and (m.remote is None or _within(self._remote, m.remote))
            and (m.classes is None or a.klass in m.classes)
            and (m.provider is None or a.provider == m.provider)
            and (m.regions is None or a.region in m.regions)
            and (m.border_groups is None or a.border_group in m.border_groups)
            and (m.services is None or not m.services.isdisjoint(a.services))
            and (m.sites is None or a.site in m.sites)
            and (m.countries is None or a.country in m.countries)
            and (m.names is None or _globs(m.names)(self._names))
            and (m.interfaces is None or self.iface in m.interfaces)
            and (m.processes is None or (proc is not None and proc.name in m.processes))
            and (m.users is None or (proc is not None and proc.user in m.users))
            and (m.executables is None or (proc is not None and _globs(m.executables)((proc.exe,))))
        )


def _value(address: str) -> int:
    return parse_address(address.split("%", 1)[0])[0]


def _within(value: int, nets: tuple[Cidr, ...]) -> bool:
    for n in nets:
        if (n.first_hi << 64 | n.first_lo) <= value <= (n.last_hi << 64 | n.last_lo):
            return True
    return False


@lru_cache(maxsize=256)
def _globs(patterns: tuple[str, ...]) -> Callable[[Iterable[str]], bool]:
    """Any of the names matches any pattern (case-insensitive, a trailing dot ignored)."""
    rx = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns), re.IGNORECASE)
    return lambda names: any(rx.match(n.rstrip(".")) for n in names)


def _region_places() -> dict[str, str]:
    """Region name -> country, for names that carry a region (s3.ap-southeast-1.amazonaws.com)."""
    out: dict[str, str] = {}
    for table in (OCI, AWS, AZURE, GCP):
        for region, place in table.items():
            if place.country:
                out.setdefault(region, place.country)
    return out


REGION_PLACES = _region_places()


def contradictions(names: Sequence[tuple[str, str]], answer: Answer) -> tuple[str, ...]:
    """Names whose labels name a provider region in another country than the address is in."""
    if not answer.country:
        return ()
    out = []
    for source, name in names:
        for label in name.lower().split("."):
            country = REGION_PLACES.get(label)
            if country and country != answer.country:
                out.append(
                    f"{source} name {name} names region {label} ({country}) but the address is "
                    f"placed in {answer.country} by {answer.country_source or answer.source}"
                )
                break
    return tuple(out)
