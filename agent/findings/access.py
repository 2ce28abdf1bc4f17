"""Access verdicts -> who reached the protected services from where, and how much left.

Counted beside the outbound tally (`Tally.access`), in sessions (flows into a service) and
bytes out (what the serving side sent back: `bytes_rev` of an access flow, which is seen from
its origin). Pure and order-free, as the outbound tally.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from agent.intel.table import Answer
from agent.model import Process, seconds
from agent.policy.access import ACCESS_VERDICTS, ACCESS_VIOLATION
from agent.policy.judge import UNVERIFIED, Verdict
from agent.policy.model import Exception_, Policy, Rule

EVIDENCE_FLOWS = 50
"""Flow serials kept per origin and input as pointers into the evidence."""
PLACE = ("country", "provider", "region", "site")
"""An origin's place, in the order of `AccessTally.places` keys."""


@dataclass(slots=True)
class Sessions:
    sessions: int = 0
    bytes_out: int = 0
    """Sent by the protected service: the data that left."""
    bytes_in: int = 0
    first_ns: int = 0
    last_ns: int = 0

    def add(self, v: Verdict) -> None:
        f = v.flow
        self.first_ns = f.first_ns if not self.sessions else min(self.first_ns, f.first_ns)
        self.last_ns = max(self.last_ns, f.last_ns)
        self.sessions += 1
        self.bytes_out += f.bytes_rev
        self.bytes_in += f.bytes_fwd

    def as_dict(self) -> dict[str, int]:
        return {"sessions": self.sessions, "bytes_out": self.bytes_out, "bytes_in": self.bytes_in}


@dataclass(slots=True)
class Origin:
    """Every access from one address under one verdict, with its evidence."""

    answer: Answer
    count: Sessions = field(default_factory=Sessions)
    first_ns: int = 0
    last_ns: int = 0
    services: set[tuple[str, str, int, int]] = field(default_factory=set)
    """(protect rule, address, protocol, port) reached."""
    names: set[tuple[str, str]] = field(default_factory=set)
    processes: set[str] = field(default_factory=set)
    """The serving processes (live mode), with pid and user."""
    users: set[str] = field(default_factory=set)
    logins: set[str] = field(default_factory=set)
    """Logins the serving process names (sshd's per-session `sshd: alice [priv]`)."""
    notes: set[str] = field(default_factory=set)
    rules: set[str] = field(default_factory=set)
    weak: bool = False
    evidence: dict[str, list[int]] = field(default_factory=dict)

    def add(self, v: Verdict, where: str) -> None:
        f = v.flow
        if not self.count.sessions:
            self.first_ns, self.last_ns = f.first_ns, f.last_ns
        self.first_ns, self.last_ns = min(self.first_ns, f.first_ns), max(self.last_ns, f.last_ns)
        self.count.add(v)
        self.services.add((v.service.name if v.service else "", f.dst, f.proto, f.dport))
        self.names.update(f.names)
        if v.process:
            p = v.process
            self.processes.add(f"{p.name} (pid {p.pid}, {p.user or 'user unknown'})")
            if p.user:
                self.users.add(p.user)
            who = login(p)
            if who:
                self.logins.add(who)
        if v.note:
            self.notes.add(v.note)
        if v.rule:
            self.rules.add(v.rule.name)
        self.weak |= v.weak
        serials = self.evidence.setdefault(where, [])
        if len(serials) < EVIDENCE_FLOWS:
            serials.append(f.serial)


@dataclass(slots=True)
class AccessTally:
    totals: dict[str, Sessions] = field(default_factory=lambda: defaultdict(Sessions))
    """By access verdict."""
    places: dict[tuple[str, ...], Sessions] = field(default_factory=lambda: defaultdict(Sessions))
    """By (verdict, origin country, provider, region, site)."""
    services: dict[str, Sessions] = field(default_factory=lambda: defaultdict(Sessions))
    """By protect rule."""
    origins: dict[tuple[str, str], Origin] = field(default_factory=dict)
    """(verdict, address) for access violations and unverified origins."""
    rules: dict[tuple[str, str], tuple[Rule, Sessions]] = field(default_factory=dict)
    """Allow and exception rules used, by (rule name, verdict)."""
    allowed_weak: Sessions = field(default_factory=Sessions)

    def add(self, v: Verdict, where: str) -> None:
        kind, a = v.verdict or "", v.answer
        self.totals[kind].add(v)
        self.places[(kind, a.country or "", a.provider or "", a.region or "", a.site or "")].add(v)
        self.services[v.service.name if v.service else ""].add(v)
        if v.rule is not None:
            self.rules.setdefault((v.rule.name, kind), (v.rule, Sessions()))[1].add(v)
        if v.weak and kind != ACCESS_VIOLATION:
            self.allowed_weak.add(v)
        if kind in (ACCESS_VIOLATION, UNVERIFIED):
            key = (kind, a.address)
            origin = self.origins.get(key) or self.origins.setdefault(key, Origin(a))
            origin.add(v, where)

    @property
    def sessions(self) -> Sessions:
        c = Sessions()
        for s in self.totals.values():
            c.sessions += s.sessions
            c.bytes_out += s.bytes_out
            c.bytes_in += s.bytes_in
        return c

    def bad(self, allow_unverified: bool) -> int:
        """Accesses that make a run non-compliant."""
        n = self.totals[ACCESS_VIOLATION].sessions
        return n if allow_unverified else n + self.totals[UNVERIFIED].sessions


SSHD_SESSION = re.compile(r"sshd(?:-session)?: ([^\s@\[]+)(?:@\S+| \[(?:priv|net|accepted)\])")
"""sshd retitles the process that serves a connection `sshd: USER [priv]`, `sshd: USER@pts/0`
or `sshd: USER [net]` (OpenSSH 9.8 and later: `sshd-session: ...`) once USER has logged in."""


def login(p: Process) -> str:
    """The login a serving process names in its title (sshd's), else ""."""
    title = " ".join(p.cmdline)
    m = SSHD_SESSION.match(title)
    return m.group(1) if m and m.group(1) != "unknown" else ""


def section(t: AccessTally, policy: Policy, names: dict[str, str]) -> dict[str, Any]:
    """The analysis document's `access` object (docs/analysis-schema.md)."""
    return {
        "protected": [{"rule": r.name, "where": r.where, "reason": r.reason,
                       **t.services[r.name].as_dict()} for r in policy.access.protect],
        "headline": {"accesses": t.sessions.as_dict(),
                     **{k: t.totals[k].as_dict() for k in ACCESS_VERDICTS},
                     "allowed_weak": t.allowed_weak.as_dict()},
        "by_origin": [
            {"verdict": k[0], **{d: v or None for d, v in zip(PLACE, k[1:], strict=True)},
             **c.as_dict()}
            for k, c in sorted(t.places.items())
        ],
        "violations": _origins(t, ACCESS_VIOLATION, names),
        "unverified": _origins(t, UNVERIFIED, names),
        "rules": [_use(rule, kind, s) for (_, kind), (rule, s) in sorted(t.rules.items())],
    }  # fmt: skip


def _origins(t: AccessTally, kind: str, names: dict[str, str]) -> list[dict[str, Any]]:
    found = [o for (k, _), o in t.origins.items() if k == kind]
    found.sort(key=lambda o: (-o.count.bytes_out, o.answer.address))
    return [_origin(o, names) for o in found]


def _origin(o: Origin, names: dict[str, str]) -> dict[str, Any]:
    return {
        **o.answer.as_dict(), **o.count.as_dict(),
        "first": seconds(o.first_ns), "last": seconds(o.last_ns),
        "services": [{"rule": r, "address": addr, "protocol": p, "port": port}
                     for r, addr, p, port in sorted(o.services)],
        "names": [{"source": s, "name": n} for s, n in sorted(o.names)],
        "processes": sorted(o.processes), "users": sorted(o.users), "logins": sorted(o.logins),
        "notes": sorted(o.notes),
        "rules": sorted(o.rules), "weak": o.weak,
        "evidence": sorted(({"input": names.get(k, k), "flow_serials": sorted(v)}
                            for k, v in o.evidence.items()), key=lambda e: e["input"]),
    }  # fmt: skip


def _use(rule: Rule, kind: str, s: Sessions) -> dict[str, Any]:
    out: dict[str, Any] = {"rule": rule.name, "verdict": kind, "where": rule.where,
                           "reason": rule.reason, **s.as_dict()}  # fmt: skip
    if isinstance(rule, Exception_):
        out["until"] = rule.until.isoformat()
        out["since"] = rule.since.isoformat() if rule.since else None
    return out
