"""A policy as frozen records: what is in scope, where it may end, and the dated exceptions.

Every rule keeps where it was written (`file:line`), so a verdict can cite the line that decided.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from agent.intel.cidr import Cidr

PROVIDERS = ("oci", "aws", "azure", "gcp")
LIVE_ONLY = ("interfaces", "processes", "executables", "users")
"""Keys only the live agent can see: in a capture they match nothing."""


@dataclass(frozen=True, slots=True)
class Match:
    """A conjunction: every key that is set must hold (each list is "any of"); unset keys
    match everything. One type serves scope selectors, approvals and exceptions; the loader
    decides which keys each section may use."""

    local: tuple[Cidr, ...] | None = None
    """The initiator's address (offline) or the host's side (live)."""
    remote: tuple[Cidr, ...] | None = None
    """The responder's address: `remote:` in scope, `networks:` in approvals."""
    ports: tuple[tuple[int, int], ...] | None = None
    """The responder's port, as inclusive ranges."""
    local_ports: tuple[tuple[int, int], ...] | None = None
    """The local side's port (access rules: the protected service's port)."""
    protocols: frozenset[int] | None = None
    interfaces: frozenset[str] | None = None
    classes: frozenset[str] | None = None
    """The remote address's special-purpose class (`private`, `multicast`, ... or `global`)."""
    provider: str | None = None
    regions: frozenset[str] | None = None
    border_groups: frozenset[str] | None = None
    services: frozenset[str] | None = None
    sites: frozenset[str] | None = None
    countries: frozenset[str] | None = None
    names: tuple[str, ...] | None = None
    """Globs over the names seen for the flow (DNS, SNI, QUIC, HTTP Host), lower case."""
    processes: frozenset[str] | None = None
    executables: tuple[str, ...] | None = None
    """Globs over the executable path (live mode only)."""
    users: frozenset[str] | None = None

    @property
    def weak(self) -> bool:
        """Whether a match rests on weak evidence only: a country (from the range files or
        country data) or a name seen on the wire, not an address range."""
        strong = (self.remote, self.provider, self.regions, self.border_groups, self.sites)
        return all(x is None for x in strong) and (
            self.countries is not None or self.names is not None
        )

    def live_only(self) -> tuple[str, ...]:
        """The live-only keys this match sets (they match nothing in captures)."""
        return tuple(k for k in LIVE_ONLY if getattr(self, k) is not None)


class Spot(NamedTuple):
    """Where one value of a rule was written, for checks made after loading (a region that no
    range file knows is found only once the store is consulted)."""

    key: str
    value: str
    line: int
    col: int


@dataclass(frozen=True, slots=True)
class Rule:
    """A named selector or approval, and where it was written."""

    name: str
    match: Match
    where: str
    """`file:line` of the rule."""
    reason: str = ""
    """Why the rule is there: an exclusion's or exception's `reason`, else its `description`."""
    spots: tuple[Spot, ...] = ()
    start: tuple[int, int] = (0, 0)
    """(line, col) where the rule begins: what `policy check` says of the rule as a whole."""


@dataclass(frozen=True, slots=True)
class Exception_(Rule):
    """An approval that holds only up to and including `until` (a UTC date), for a reason."""

    until: date = date.min
    since: date | None = None


@dataclass(frozen=True, slots=True)
class Access:
    """The inbound half: which local services hold protected data, where connections into
    them may come from, and the dated exceptions. Empty: no flow is judged as access."""

    protect: tuple[Rule, ...] = ()
    """Selectors over the serving side: `local` (networks), `local_ports`, protocols and, in
    live mode, interfaces, processes, executables and users."""
    allow: tuple[Rule, ...] = ()
    """Where access may come from, matched on the origin as `remote` (networks), its answer
    (sites, provider, regions, countries) and names; `local_ports` narrows to a service."""
    exceptions: tuple[Exception_, ...] = ()


@dataclass(frozen=True, slots=True)
class Policy:
    path: str
    """Where it was read from, as typed: for opening, never for documents (`file` is)."""
    sha256: str
    text: str
    """The policy as written, so a report can quote it whole."""
    name: str
    version: int
    include: tuple[Rule, ...]
    exclude: tuple[Rule, ...]
    approve: tuple[Rule, ...]
    exceptions: tuple[Exception_, ...] = field(default=())
    file: str = ""
    """The name it is cited by in rule `where`s and documents: its file name."""
    access: Access = field(default=Access())

    @property
    def rules(self) -> tuple[Rule, ...]:
        """Every rule, outbound then access, in the order of their sections."""
        a = self.access
        return (*self.include, *self.exclude, *self.approve, *self.exceptions, *a.protect,
                *a.allow, *a.exceptions)  # fmt: skip
