"""Checks a policy can only get once the range data and the date are known: a region or site
that no stored file names would approve nothing, a region rule does not cover the region's
zones in other countries, and an exception past its date exempts nothing any more; and
warnings any time: a catch-all name pattern, live-only keys (which match nothing in captures),
two rules of a section that select the same. An unknown name comes with the closest known one.
Pure: the known names and `today` come in."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from agent.intel.records import Label
from agent.intel.regions import AWS, AWS_BORDER_GROUPS, AZURE, GCP, OCI, at_home
from agent.policy.model import LIVE_ONLY, Exception_, Policy, Rule
from agent.yamlfile import Problem, suggest

BUILT_IN = {"oci": OCI, "aws": AWS, "azure": AZURE, "gcp": GCP}


@dataclass(frozen=True, slots=True)
class Known:
    """What the stored range data names."""

    regions: dict[str, frozenset[str]] = field(default_factory=dict)
    """Provider -> its region names."""
    border_groups: frozenset[str] = frozenset()
    sites: frozenset[str] = frozenset()
    abroad: dict[tuple[str, str], frozenset[tuple[str, str | None]]] = field(default_factory=dict)
    """(provider, region) -> its zones outside the region's country, with their country: a
    rule on the region does not cover them."""

    @classmethod
    def of(cls, labels: Iterable[Label]) -> Known:
        regions: dict[str, set[str]] = {}
        groups, sites = set(), set()
        abroad: dict[tuple[str, str], set[tuple[str, str | None]]] = {}
        for lab in labels:
            if lab.provider and lab.region:
                regions.setdefault(lab.provider, set()).add(lab.region)
                if not at_home(lab.provider, lab.region, lab.border_group):
                    zone = (lab.border_group or "", lab.country)
                    abroad.setdefault((lab.provider, lab.region), set()).add(zone)
            if lab.border_group:
                groups.add(lab.border_group)
            if lab.site:
                sites.add(lab.site)
        return cls({k: frozenset(v) for k, v in regions.items()}, frozenset(groups),
                   frozenset(sites), {k: frozenset(v) for k, v in abroad.items()})  # fmt: skip


@dataclass(frozen=True, slots=True)
class Finding:
    problem: Problem
    error: bool
    """An error makes the policy unusable; a warning is worth reading but changes nothing."""


def check(policy: Policy, known: Known | None, today: date) -> list[Finding]:
    """Findings in file order; with no range data (`known` None) only the dates are checked."""
    found: list[Finding] = []
    for rule in policy.rules:
        provider = rule.match.provider
        live: set[str] = set()
        for spot in rule.spots:
            if spot.key in LIVE_ONLY:
                message, error = ("" if spot.key in live else _live(spot.key)), False
                live.add(spot.key)
            else:
                message, error = _spot(spot.key, spot.value, provider, known, rule, today)
            if message:
                found.append(Finding(Problem(spot.line, spot.col, message), error))
    found += _repeated(policy)
    return sorted(found, key=lambda f: f.problem)


def _repeated(policy: Policy) -> list[Finding]:
    """A rule that selects what an earlier rule of its section does: one of them is redundant
    (or meant to say something else)."""
    a = policy.access
    found = []
    for section in (policy.include, policy.exclude, policy.approve, policy.exceptions,
                    a.protect, a.allow, a.exceptions):  # fmt: skip
        first: dict[object, Rule] = {}
        for rule in section:
            key = ((rule.match, rule.until, rule.since) if isinstance(rule, Exception_)
                   else rule.match)  # two windows of one exemption are two rules  # fmt: skip
            earlier = first.setdefault(key, rule)
            if earlier is not rule:
                why = (f"rule {rule.name!r} selects the same as rule {earlier.name!r} "
                       f"({earlier.where}): one of them is redundant")  # fmt: skip
                found.append(Finding(Problem(*rule.start, why), False))
    return found


CATCH_ALL = frozenset("*?.")


def _live(key: str) -> str:
    return (f"`{key}` is a live-only key: it matches nothing in captures (`analyze` and "
            "`report` on captures), only in `residency watch`")  # fmt: skip


def _glob(value: str) -> str:
    if "*" in value and set(value) <= CATCH_ALL:
        return (f"name pattern {value!r} matches every name: a name is weak evidence anyone can "
                "claim, so this approves only destinations that no provider range with a "
                "region and no site places")  # fmt: skip
    return ""


def _abroad(value: str, provider: str | None, known: Known, rule: Rule) -> str:
    """A region rule meets zones in other countries, which it does not cover."""
    if rule.match.border_groups is not None:
        return ""
    providers = [provider] if provider else sorted(known.regions)
    zones = sorted(z for p in providers for z in known.abroad.get((p, value), ()))
    if not zones:
        return ""
    home = AWS.get(value)
    named = ", ".join(f"{g} ({c or '??'})" for g, c in zones)
    return (f"region {value!r} covers its own country ({home.country if home else '??'}) only, "
            f"not its zones abroad: {named}; name them in `border_groups` to approve them")


def _spot(key: str, value: str, provider: str | None, known: Known | None, rule: object,
          today: date) -> tuple[str, bool]:  # fmt: skip
    if key == "until" and isinstance(rule, Exception_) and rule.until < today:
        return f"exception {rule.name!r} expired on {value}: it exempts nothing after that", False
    if key == "names":
        return _glob(value), False
    if known is None:
        return "", False
    if key == "regions":
        message, error = _region(value, provider, known)
        if not message and isinstance(rule, Rule):
            return _abroad(value, provider, known, rule), False
        return message, error
    if key == "border_groups" and value not in known.border_groups:
        listed = value in AWS_BORDER_GROUPS or value in AWS
        hint = "" if listed else suggest(value, known.border_groups | set(AWS_BORDER_GROUPS))
        return f"border group {value!r} is in no stored range file{hint}", not listed
    if key == "sites" and value not in known.sites:
        hint = suggest(value, known.sites) or " (import it with `ranges import`)"
        return f"site {value!r} is in no stored sites file{hint}", True
    return "", False


def _region(value: str, provider: str | None, known: Known) -> tuple[str, bool]:
    providers = [provider] if provider else sorted(set(known.regions) | set(BUILT_IN))
    if any(value in known.regions.get(p, ()) for p in providers):
        return "", False
    whose = f"{provider} " if provider else ""
    if any(value in BUILT_IN[p] for p in providers):
        return (f"{whose}region {value!r} is in no stored range file (it is a known region; "
                "import newer range data if it should match)"), False  # fmt: skip
    names = {r for p in providers for r in (*known.regions.get(p, ()), *BUILT_IN.get(p, ()))}
    return (f"unknown {whose}region {value!r}: in no stored range file and no region "
            f"table{suggest(value, names)}"), True  # fmt: skip
