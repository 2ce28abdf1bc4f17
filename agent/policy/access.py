"""Connections into protected local services -> one access verdict each: the inbound half.

Pure, beside the outbound judge and sharing its matching (`Facts`): a flow, its origin's lookup
answer and (live) the serving process come in, a `Verdict` with scope ACCESS goes out.

Which flows are access: the side that *serves* is decided by who initiated, not by which side
is local. With a SYN, its receiver serves. Without one (a capture that starts mid-connection,
a flow record, a journal row), the port rule decides: the side whose address and port a
`protect` rule names is the server. The serving side must be local: inside the rule's own
`networks`, or the policy's local networks (`scope.include` `local`), or (live) served by a
process the rule names. A flow is claimed by the first `protect` rule that selects its serving
side; the outbound judge never sees it.

Each claimed flow, by its origin (the initiator):
  1. allowed by the first `allow` rule the origin matches, where a weak rule (names or
     countries alone) counts only for an origin no strong evidence places (a site, a provider
     range with a region): as for outbound approvals;
  2. exempt by a live `exceptions` rule, on the same terms; an expired one no longer exempts;
  3. unverified when the origin cannot be placed (no range data, or a region-less range);
  4. otherwise an access violation.

The data that left is what the serving side sent back: `bytes_rev` of the verdict's flow, which
is always seen from the origin (`src` the origin, `dst` the service).
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.intel.cidr import Cidr
from agent.intel.table import Answer
from agent.model import Flow, Process
from agent.policy.judge import (
    EXEMPT,
    UNVERIFIED,
    Facts,
    Verdict,
    live,
    overruled,
    strongly_placed,
    unplaced,
)
from agent.policy.keys import day_of
from agent.policy.model import Exception_, Policy, Rule
from agent.policy.orient import local_networks, turned, within
from agent.policy.verdicts import AccessVerdict, Scope

ACCESS = Scope.ACCESS
"""The scope of a flow into a protected service."""
ALLOWED, ACCESS_VIOLATION = AccessVerdict.ALLOWED, AccessVerdict.ACCESS_VIOLATION
ACCESS_VERDICTS = tuple(AccessVerdict)
LABELS: dict[str, str] = {
    v: v if v.startswith("access-") else f"access-{v}" for v in ACCESS_VERDICTS
}


def label(v: Verdict) -> str:
    """A verdict's one name in counts, metrics and lines: its verdict, else its scope; an
    access's with `access-` before it (`access-allowed`, ..., `access-violation`)."""
    kind = v.verdict or v.scope
    return LABELS[kind] if v.scope == ACCESS else kind
"""An access verdict where it shares a column with outbound ones (metrics, the fleet lake):
`access-allowed`, `access-exempt`, `access-unverified`, `access-violation`."""
SYN, PORTS = "syn", "ports"
NOWHERE = Answer("", "global", None, None, None, (), None, None, None, None, None, None)
"""The answer used while matching the serving side: protect rules ask nothing of it."""


@dataclass(frozen=True, slots=True)
class Claim:
    """A flow into a protected service."""

    flow: Flow
    """Seen from the origin: `src` the initiator, `dst` the service, `bytes_rev` the data out."""
    view: Flow
    """Seen from the service, as rules match it: `src`/`sport` the service, `dst` the origin,
    `names` those seen for the origin."""
    service: Rule
    """The `protect` rule that selected it."""
    turned: bool = False
    """`flow` is the flow given turned round: the port rule found the service at its source."""


class AccessJudge:
    def __init__(self, policy: Policy) -> None:
        self.access = policy.access
        self._local: tuple[Cidr, ...] = local_networks(policy)

    def claim(self, flow: Flow, iface: str | None, proc: Process | None) -> Claim | None:
        """The flow as an access, when a protect rule selects its serving side."""
        if not self.access.protect:
            return None
        if flow.direction == SYN:
            return self._served(flow, flow.names, iface, proc)
        first = self._served(flow._replace(direction=PORTS), (), iface, proc)
        if first:
            return first
        back = turned(flow)._replace(direction=PORTS)
        return self._served(back, flow.names, iface, proc, True)

    def _served(self, flow: Flow, origin_names: tuple[tuple[str, str], ...], iface: str | None,
                proc: Process | None, back: bool = False) -> Claim | None:  # fmt: skip
        """`flow` (initiator first) as an access, when its responder is a protected local
        service."""
        view = turned(flow)._replace(names=origin_names, direction=flow.direction)
        facts = Facts(view, NOWHERE, iface, proc)
        for rule in self.access.protect:
            if facts.matches(rule.match) and self._local_side(rule, view.src, proc):
                return Claim(flow, view, rule, back)
        return None

    def _local_side(self, rule: Rule, address: str, proc: Process | None) -> bool:
        m = rule.match
        if m.local is not None:
            return True  # matched: inside the rule's own networks
        if proc is not None and (m.processes or m.executables or m.users):
            return True  # served by a process of this host that the rule names
        return bool(self._local) and within(address, self._local)

    def one(self, claim: Claim, answer: Answer, iface: str | None = None,
            proc: Process | None = None) -> Verdict:  # fmt: skip
        """The access verdict for a claimed flow, `answer` being its origin's."""
        facts = Facts(claim.view, answer, iface, proc)
        flow, a = claim.flow, answer

        def verdict(kind: str, rule: Rule | None, weak: bool = False, note: str = "") -> Verdict:
            return Verdict(flow, ACCESS, kind, rule, a, weak, note, (), proc, claim.service)

        placed = strongly_placed(a)
        refused: Rule | None = None
        for rule in self.access.allow:
            if facts.matches(rule.match):
                if not (placed and rule.match.weak):
                    return verdict(ALLOWED, rule, rule.match.weak)
                refused = refused or rule
        day = day_of(flow.first_ns)
        expired: Exception_ | None = None
        for exc in self.access.exceptions:
            if facts.matches(exc.match):
                if placed and exc.match.weak:
                    refused = refused or exc
                elif live(exc, day):
                    return verdict(EXEMPT, exc, exc.match.weak)
                else:
                    expired = expired or exc
        if expired:
            note = f"exception {expired.name!r} ended {expired.until.isoformat()}"
            if expired.since and day < expired.since:
                note = f"exception {expired.name!r} starts {expired.since.isoformat()}"
            return verdict(ACCESS_VIOLATION, expired, False, note)
        why = unplaced(a)
        if why:
            return verdict(UNVERIFIED, None, False, why)
        if refused:
            return verdict(ACCESS_VIOLATION, None, False, overruled(refused, a))
        weak = a.provider is None and a.site is None
        return verdict(ACCESS_VIOLATION, None, weak, "placed by country data only" if weak else "")
