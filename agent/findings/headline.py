"""The answer in one line, and the one way a share is written: the terminal (`analysis.text`)
and the report (`report.sections`) both say it with these, so they cannot disagree.

Both read the same keys: `headline` (counts by verdict, `approved_weak`), `compliant`,
`complete`, `nothing_in_scope`, `inputs.policy` and `inputs.filter`, which the analysis document
and the report document share.
"""

from __future__ import annotations

from typing import Any

WEAK = "on weak evidence only (a name or country data)"
SAMPLED = "part of it rests on sampled flow records: their bytes are estimates"
ESTIMATED = f" ({SAMPLED})"
"""Said after the answer when any of it rests on sampled counts (`estimated_counts`)."""


def pct(part: int, whole: int) -> str:
    """A share rounded down to 0.1% (docs/method.md), so 100.0% means all of it; a dash when
    there is no whole."""
    if not whole:
        return "\u2014"
    tenths = part * 1000 // whole
    return f"{tenths // 10}.{tenths % 10}%"


def policy_name(doc: dict[str, Any]) -> str:
    """The policy's own `name`, else its file."""
    p = doc["inputs"]["policy"]
    return str(p["name"] or p["file"])


def kind(doc: dict[str, Any]) -> str:
    """`empty`, `compliant` or `violations`: which answer the document gives."""
    if doc["nothing_in_scope"]:
        return "empty"
    return "compliant" if doc["compliant"] else "violations"


def sentence(doc: dict[str, Any]) -> str:
    """`COMPLIANT with policy P: 99.1% of in-scope bytes approved, of which 12.0% on weak
    evidence only ...`, `NOT COMPLIANT with policy P: 3 violations, 2 unverified flows; ...`
    or `NOTHING IN SCOPE of policy P: why`; said to cover only what a capture filter
    selected when one was given (never all traffic), marked INCOMPLETE when a capture was
    damaged or cut short, and said to rest on estimates when sampled flow records count."""
    h, name = doc["headline"], policy_name(doc)
    answer = kind(doc)
    if answer == "empty":
        line = f"NOTHING IN SCOPE of policy {name}: {doc['nothing_in_scope']}"
    elif answer == "compliant":
        line = f"COMPLIANT with policy {name}: {share(h)}"
    else:
        line = (f"NOT COMPLIANT with policy {name}: {plural(h['violation']['flows'], 'violation')}"
                f", {plural(h['unverified']['flows'], 'unverified flow')}; {share(h)}")  # fmt: skip
    if answer != "empty":
        line += access(doc)
    if doc["inputs"].get("filter"):
        line += f" (only the capture records that the filter {doc['inputs']['filter']!r} selects)"
    if not doc["complete"]:
        line += " (INCOMPLETE: a capture is damaged or cut short; see its inputs)"
    if h.get("estimated_counts"):
        line += ESTIMATED
    return line


def access(doc: dict[str, Any]) -> str:
    """The access half, when the policy has one: `; 2 sessions into protected services, 1
    access violation (86,453 bytes out)`."""
    a = doc.get("access")
    if not a:
        return ""
    h = a["headline"]
    bad, unverified = h["access-violation"], h["unverified"]["sessions"]
    text = (f"; {plural(h['accesses']['sessions'], 'session')} into protected services, "
            f"{plural(bad['sessions'], 'access violation')} ({bad['bytes_out']:,} bytes out)")
    return text + (f", {plural(unverified, 'unverified access')}" if unverified else "")


def share(h: dict[str, Any]) -> str:
    """The approved share of in-scope bytes, how much of it rests on weak evidence, and the
    share under live exceptions."""
    inside, ok = h["in_scope"]["bytes"], h["approved"]["bytes"]
    text = f"{pct(ok, inside)} of in-scope bytes approved"
    weak = h["approved_weak"]["bytes"]
    if weak:
        text += f", of which {pct(weak, ok)} {WEAK}"
    if h["exempt"]["bytes"]:
        text += f"; {pct(h['exempt']['bytes'], inside)} exempt under live exceptions"
    return text


def plural(count: int, noun: str) -> str:
    """`1 flow`, `2 flows`, `1,024 flows`: every count in the project's sentences."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
