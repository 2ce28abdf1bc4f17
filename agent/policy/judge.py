"""Flows + lookup answers -> one verdict each, with the evidence that decided it.

Pure: the lookup table, the policy and the flows come in; nothing reads a clock (an exception's
date is compared with the flow's own first packet time), so a replayed capture gets the same
verdicts every time.

The order, for each flow, once its local side is known (`orient`: the policy's local networks,
else the flow table's initiator):
  1. out of scope unless a `scope.include` rule selects it;
  2. excluded (counted, reported) if a `scope.exclude` rule selects it;
  3. approved by the first `approve` rule its destination matches, where a weak rule (one
     that rests on `names` or `countries` alone, `Match.weak`) counts only for a destination
     that no strong evidence places: not a site, nor a provider range with a region;
  4. exempt by the first live exception it matches, on the same terms; an exception past its
     `until` date (or before its `since`) no longer exempts;
  5. otherwise unverified when the destination cannot be placed (no data at all, or a
     provider's region-less range), else a violation; a weak rule that matched but could not
     decide is named in the violation's note, with the place the strong evidence gives.

A place is where traffic ends: a `regions` key covers a region's ranges in the region's own
country only (`intel.regions.at_home`), so a Local or Wavelength Zone abroad (us-east-1-bue-1,
Buenos Aires) is approved only by a rule that names it in `border_groups`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from agent.intel.cidr import Cidr, parse_address
from agent.intel.lookup import lookup, unmapped
from agent.intel.records import Label
from agent.intel.regions import AWS, AZURE, GCP, OCI, at_home
from agent.intel.table import Answer, RangeTable
from agent.model import Flow, FlowBatch, Process
from agent.policy.keys import Reads, day_of
from agent.policy.model import Exception_, Match, Policy, Rule
from agent.policy.orient import local_networks, orient
from agent.policy.verdicts import OutboundVerdict, Scope

if TYPE_CHECKING:
    from agent.policy.batch import Verdicts

APPROVED, VIOLATION, EXEMPT, UNVERIFIED = OutboundVerdict
VERDICTS = tuple(OutboundVerdict)
IN, OUT, EXCLUDED = Scope.IN, Scope.OUT, Scope.EXCLUDED
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
    service: Rule | None = None
    """An access (scope `access`): the `protect` rule whose service the flow reached; `answer`
    is then the origin's, and the flow is seen from the origin."""

    def evidence(self) -> dict[str, Any]:
        """The verdict in its JSON form, without the flow and process (kept beside it)."""
        rule = self.rule
        out = {
            "scope": self.scope, "verdict": self.verdict,
            "rule": None if rule is None else {"name": rule.name, "where": rule.where},
            "answer": self.answer.as_dict(), "weak": self.weak, "note": self.note,
            "contradictions": list(self.contradictions),
        }  # fmt: skip
        if self.service is not None:
            out["service"] = {"name": self.service.name, "where": self.service.where}
        return out


class Judge:
    def __init__(self, policy: Policy, table: RangeTable) -> None:
        from agent.policy.access import AccessJudge  # it matches with this module's Facts

        self.policy, self.table = policy, table
        self._answers: dict[str, Answer] = {}
        self._local = local_networks(policy)
        self.access = AccessJudge(policy)
        self._weak = any(r.match.weak for r in (*policy.approve, *policy.exceptions,
                                                *policy.access.allow, *policy.access.exceptions))
        self.reads = Reads(policy)
        """What the policy reads of a flow (`agent.policy.keys`)."""
        self.labels = self.reads.labels(table)
        """What it reads of each of the table's labels (`Reads.labels`)."""
        self.quoting = np.array([self.quotes(x) for x in table.labels] + [False], bool)
        """Per label (and one past: none), `quotes`."""
        self._globbed = tuple(dict.fromkeys(r.match.names for r in policy.rules if r.match.names))
        self._decided: dict[Hashable, Any] = {}
        self._claimed: dict[Hashable, Any] = {}
        self._shapes: dict[tuple[int, ...], Answer] = {}

    def judge(
        self, flows: Sequence[Flow], interfaces: Sequence[str | None] | None = None,
        processes: Sequence[Process | None] | None = None,
    ) -> list[Verdict]:  # fmt: skip
        """Verdicts for flows, in order, as `judge_batch` gives them."""
        return list(self.judge_batch(FlowBatch.of(list(flows)), interfaces, processes).records())

    def judge_batch(
        self, batch: FlowBatch, interfaces: Sequence[str | None] | None = None,
        processes: Sequence[Process | None] | None = None,
    ) -> Verdicts:  # fmt: skip
        """The verdicts of a batch as columns (`agent.policy.batch`): each distinct judging key
        judged once by `judge_one`. `interfaces` and `processes`, when known (live mode), line
        up with the flows."""
        from agent.policy.batch import judged  # it builds on this module's per-flow rule

        return judged(self, batch, interfaces, processes)

    def judge_one(self, flow: Flow, iface: str | None = None,
                  proc: Process | None = None) -> Verdict:  # fmt: skip
        """The verdict for one flow: a flow into a protected service by the access half
        (`agent.policy.access`, seen from its origin), every other flow seen from its local
        side."""
        claim = self.access.claim(flow, iface, proc)
        if claim:
            origin = claim.view.dst
            return self.access.one(claim, self.answers([origin])[origin], iface, proc)
        flow = orient(flow, self._local)
        return self.one(flow, self.answers([flow.dst])[flow.dst], iface, proc)

    def heard(self, names: tuple[tuple[str, str], ...]) -> Hashable:
        """What the policy reads of a flow's names: which rules' name globs they match, and
        the names that name a provider region (a contradiction quotes them)."""
        plain = tuple(name for _, name in names)
        matched = tuple(_globs(g)(plain) for g in self._globbed)
        return matched, tuple(x for x in names if _region_of(x[1]))

    def decisions(self) -> dict[Hashable, Any]:
        """The decisions made, by judging key (`agent.policy.batch`), emptied first when full."""
        if len(self._decided) >= ANSWER_CACHE:
            self._decided.clear()
        return self._decided

    def claimed(self, key: Hashable, claim: Callable[[], Any]) -> Any:
        """The access claim for a claiming key, made once (`agent.policy.batch`)."""
        return _kept(self._claimed, key, claim)

    def shape(self, row: tuple[int, ...]) -> Answer:
        """The answer for a segment row and IPv4-mapped flag, with no address text."""
        return _kept(self._shapes, row, lambda: self.table.answer("", row[:4], bool(row[4])))  # type: ignore[no-any-return]

    def quotes(self, label: Label) -> bool:
        """Whether a verdict's note can quote the range of an answer decided by this label:
        unplaced for a region-less provider range (`unplaced`), or a weak rule overruled
        (`overruled`). The batch judges those ranges apart where the note is made, every other
        answer once for all the ranges that read alike."""
        region_less = bool(label.provider and not label.region and not label.site)
        return region_less or (self._weak and strongly_placed(label))

    def known(self) -> dict[str, Answer]:
        """The answers cache, emptied first when full: verdicts add to it as they are made."""
        if len(self._answers) > ANSWER_CACHE:
            self._answers.clear()
        return self._answers

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
        placed = strongly_placed(answer)
        refused: Rule | None = None
        for rule in p.approve:
            if facts.matches(rule.match):
                if not (placed and rule.match.weak):
                    w = rule.match.weak
                    return Verdict(flow, IN, APPROVED, rule, answer, w, "", odd, proc)
                refused = refused or rule
        day = day_of(flow.first_ns)
        expired: Exception_ | None = None
        for exc in p.exceptions:
            if facts.matches(exc.match):
                if placed and exc.match.weak:
                    refused = refused or exc
                elif live(exc, day):
                    return Verdict(flow, IN, EXEMPT, exc, answer, exc.match.weak, "", odd, proc)
                else:
                    expired = expired or exc
        if expired:
            note = f"exception {expired.name!r} ended {expired.until.isoformat()}"
            if expired.since and day < expired.since:
                note = f"exception {expired.name!r} starts {expired.since.isoformat()}"
            return Verdict(flow, IN, VIOLATION, expired, answer, False, note, odd, proc)
        why = unplaced(answer)
        if why:
            return Verdict(flow, IN, UNVERIFIED, None, answer, False, why, odd, proc)
        if refused:
            note = overruled(refused, answer)
            return Verdict(flow, IN, VIOLATION, None, answer, False, note, odd, proc)
        weak = answer.provider is None and answer.site is None
        note = "placed by country data only" if weak else abroad(answer, p.approve)
        return Verdict(flow, IN, VIOLATION, None, answer, weak, note, odd, proc)


def _kept(memo: dict[Any, Any], key: Hashable, make: Callable[[], Any]) -> Any:
    """memo[key], made by `make` when missing; the memo starts over past ANSWER_CACHE keys."""
    if key in memo:
        return memo[key]
    if len(memo) >= ANSWER_CACHE:
        memo.clear()
    memo[key] = value = make()
    return value


def live(exc: Exception_, day: date) -> bool:
    """An exception holds from `since` through `until`, both whole UTC days."""
    return (exc.since is None or exc.since <= day) and day <= exc.until


def strongly_placed(answer: Answer | Label) -> bool:
    """Whether strong evidence places the destination: an operator's site, or a provider
    range that names a region. Only then can a weak rule (names, countries) be wrong."""
    return bool(answer.site or (answer.provider and answer.region))


def where(answer: Answer) -> str:
    """The place strong evidence gives, in words: `aws range 13.250.0.0/15 (ap-southeast-1,
    SG)` or `site operator-singapore (SG)`."""
    country = f", {answer.country}" if answer.country else ""
    if answer.site:
        return f"site {answer.site} ({answer.prefix}{country})"
    zone = answer.border_group if answer.border_group not in (None, answer.region) else None
    spot = " ".join(x for x in (answer.region, zone) if x)
    return f"{answer.provider} range {answer.prefix} ({spot}{country})"


def overruled(rule: Rule, answer: Answer) -> str:
    """Why a weak rule that matched did not decide."""
    keys = "/".join(k for k in ("names", "countries") if getattr(rule.match, k) is not None)
    return (f"rule {rule.name!r} ({keys}, weak evidence) matched, but {answer.source} places "
            f"it at {where(answer)}, which no rule on addresses, providers or sites "
            "approves")  # fmt: skip


def abroad(answer: Answer, approvals: Sequence[Rule]) -> str:
    """For a zone outside its region's country that a region rule names: why that rule did not
    approve it."""
    if at_home(answer.provider, answer.region, answer.border_group):
        return ""
    named = [r.name for r in approvals if r.match.regions and answer.region in r.match.regions]
    if not named:
        return ""
    return (f"{answer.border_group} is a zone of {answer.region} outside the region's country "
            f"(in {answer.country or 'an unknown country'}): rule {named[0]!r} names the region, "
            "which covers its own country only; name the zone in border_groups to approve "
            "it")  # fmt: skip


def unplaced(answer: Answer) -> str:
    """Why a destination cannot be placed, or "" when it can."""
    if answer.provider and not answer.region and not answer.site:
        return f"{answer.provider} range {answer.prefix} has no region"
    if not (answer.provider or answer.site or answer.country):
        return "no range data covers this address" + (
            f" ({answer.klass})" if answer.klass != "global" else ""
        )
    return ""


class Facts:
    """One flow as the policy sees it: its sides, its destination's answer, its names."""

    __slots__ = ("flow", "answer", "iface", "proc", "home", "_local", "_remote", "_names")

    def __init__(self, flow: Flow, answer: Answer, iface: str | None, proc: Process | None):
        self.flow, self.answer, self.iface, self.proc = flow, answer, iface, proc
        self.home = at_home(answer.provider, answer.region, answer.border_group)
        """The range is in its region's own country (a `regions` key covers only these)."""
        self._local = _value(flow.src)
        self._remote = _value(flow.dst)
        self._names = tuple(name for _, name in flow.names)

    def matches(self, m: Match) -> bool:
        f, a, proc = self.flow, self.answer, self.proc
        return (
            (m.protocols is None or f.proto in m.protocols)
            and (m.ports is None or any(lo <= f.dport <= hi for lo, hi in m.ports))
            and (m.local_ports is None or any(lo <= f.sport <= hi for lo, hi in m.local_ports))
            and (m.local is None or _within(self._local, m.local))
            and (m.remote is None or _within(self._remote, m.remote))
            and (m.classes is None or a.klass in m.classes)
            and (m.provider is None or a.provider == m.provider)
            and (m.regions is None or (a.region in m.regions
                                       and (m.border_groups is not None or self.home)))
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


def _region_of(name: str) -> bool:
    """Whether a label of the name names a provider region (`contradictions` reads only these)."""
    return any(label in REGION_PLACES for label in name.lower().split("."))
