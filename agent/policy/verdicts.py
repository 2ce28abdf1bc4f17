"""The names of scopes and verdicts, once: every table, output and comparison uses these.

`StrEnum` members are their strings (`Scope.IN == "in"`, `json.dumps` writes `"in"`), so the
documents, the journal and the lake keep the names they always had.
"""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    """Where the policy puts a flow before it is judged."""

    IN = "in"
    """Outbound and selected by the scope: judged by where it ends."""
    OUT = "out"
    """Selected by no scope."""
    EXCLUDED = "excluded"
    """Removed from scope by an exclusion rule."""
    ACCESS = "access"
    """Opened from outside into a protected service: judged by its origin."""


class OutboundVerdict(StrEnum):
    """The verdict on a flow in scope."""

    APPROVED = "approved"
    VIOLATION = "violation"
    EXEMPT = "exempt"
    """A violation under an exception in force."""
    UNVERIFIED = "unverified"
    """Nothing proves where it ends."""


class AccessVerdict(StrEnum):
    """The verdict on an access; exempt and unverified mean what they mean outbound."""

    ALLOWED = "allowed"
    EXEMPT = OutboundVerdict.EXEMPT.value
    UNVERIFIED = OutboundVerdict.UNVERIFIED.value
    ACCESS_VIOLATION = "access-violation"
