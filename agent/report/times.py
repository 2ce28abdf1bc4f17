"""Times as a report writes them: exact decimal epoch seconds, each with a UTC companion for
a reader (a float would lose the last digits; a bare epoch number helps no reader)."""

from __future__ import annotations

from datetime import UTC, datetime

from agent.model import seconds


def utc(text: str | None) -> str | None:
    """Decimal epoch seconds -> ISO 8601 UTC to the microsecond."""
    if text is None:
        return None
    whole, _, frac = text.partition(".")
    stamp = datetime.fromtimestamp(int(whole), UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{(frac + '000000')[:6]}Z"


def span(from_ns: int, to_ns: int) -> dict[str, str | None]:
    """A stretch of time: `from`, `to` and their `*_utc` companions."""
    a, b = seconds(from_ns), seconds(to_ns)
    return {"from": a, "to": b, "from_utc": utc(a), "to_utc": utc(b)}


def ns_of(text: str) -> int:
    """Decimal epoch seconds (as `seconds` writes them) -> ns, exactly."""
    whole, _, frac = text.partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()) or len(frac) > 9:
        raise ValueError(f"{text!r}: not decimal epoch seconds")
    return int(whole) * 1_000_000_000 + int((frac + "000000000")[:9])
