"""An analysis and its inputs -> the report document, schema "residency.report/3"
(docs/report-schema.md): the analysis document regrouped for a reader, with the policy's text,
the scope, the coverage and the method.

Pure and deterministic: no clock unless a time is passed in, every list sorted, so the same
inputs give the same canonical bytes and `report verify` can run it again and compare.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from agent.findings.analysis import Analysis
from agent.findings.dating import NO_DATING, Dating
from agent.findings.document import JournalInput, canonical, document
from agent.intel.cidr import Cidr
from agent.intel.table import prefix_text
from agent.model import seconds
from agent.policy.judge import VERDICTS
from agent.policy.model import Match, Policy, Rule
from agent.report.coverage import Watch, coverage, vantage_points
from agent.report.method import method
from agent.report.times import utc
from agent.wire.keywords import proto_name

SCHEMA = "residency.report/3"
DIMENSIONS = ("provider", "region", "country", "site")
REGION = ("provider", "region", "border_group", "country")
"""The keys of a `breakdown.region` row."""
RULES = ("approvals", "exemptions", "exceptions_not_in_force", "exclusions")


@dataclass(frozen=True, slots=True)
class Options:
    """What, besides the inputs, decides a report's content; kept in it so a re-run can match."""

    allow_unverified: bool = False
    idle_timeout: float = 0.0
    generated: str | None = None
    """When the report was made, only if asked for: it makes every run's bytes differ."""
    window: tuple[int | None, int | None] | None = None
    """For a journal: `--since` and `--until` as given, in ns (None: open). The journal's head
    bounds the rows; the window, as asked, decides which of them a re-run reads."""


def build(
    analysis: Analysis, policy: Policy, options: Options, watches: Sequence[Watch] = (),
    dating: Dating = NO_DATING,
) -> dict[str, Any]:  # fmt: skip
    """The report; `watches` line up with `analysis.journals` (`report.journal.watched`);
    `dating` is when the traffic began, which the range versions were chosen for."""
    journals = analysis.journals
    doc = document(analysis.tally, policy, analysis.captures, analysis.ranges,
                   options.allow_unverified, journals, dating, analysis.window,
                   analysis.records, analysis.capture_filter)  # fmt: skip
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "tool": doc["tool"],
        "options": _options(options, dating),
        "compliant": doc["compliant"],
        "complete": doc["complete"],
        "nothing_in_scope": doc["nothing_in_scope"],
        "period": period(doc["period"]),
        "scope": {
            "hosts": [_rule(r) for r in policy.include],
            "exclusions": [_rule(r) for r in policy.exclude],
            "vantage_points": vantage_points(
                analysis.captures, [(j.file, w) for j, w in zip(journals, watches, strict=True)]
            ),
        },
        "headline": {
            **doc["headline"],
            "destinations": {"violation": len(doc["violations"]),
                             "unverified": len(doc["unverified"])},  # fmt: skip
        },
        "breakdown": {"places": doc["breakdown"],
                      **{d: _group(doc["breakdown"], d) for d in DIMENSIONS}},  # fmt: skip
        "timeline": doc["timeline"],
        "violations": doc["violations"],
        "unverified": doc["unverified"],
        "rules": {k: doc[k] for k in RULES},
        "contradictions": doc["contradictions"],
        "access": doc["access"],
        "coverage": coverage(analysis.captures, doc["headline"], doc["direction"], journals,
                             watches),
        "inputs": {
            "policy": {**doc["inputs"]["policy"], "text": policy.text},
            "captures": [{"file": c.file, "sha256": c.sha256, "size": c.size}
                         for c in analysis.captures],  # fmt: skip
            "filter": doc["inputs"]["filter"],
            "journals": [_journal(j) for j in journals],
            "ranges": doc["inputs"]["ranges"],
            "ranges_chosen": doc["inputs"]["ranges_chosen"],
        },
        "range_notices": doc["range_notices"],
        "analysis": {"schema": doc["schema"], "sha256": hashlib.sha256(canonical(doc)).hexdigest()},
        "method": method(),
    }
    for key in RECORD_COVERAGE:  # flow record inputs: each source's share, merges and gaps
        if key in doc["inputs"]:
            report["coverage"][key] = doc["inputs"][key]
    if options.generated is not None:
        report["generated"] = options.generated
    return report


RECORD_COVERAGE = ("record_files", "sources", "records_merged", "records_rejected",
                   "coverage_gaps")  # fmt: skip


def period(p: dict[str, str | None]) -> dict[str, str | None]:
    """The first and last packet, as exact epoch seconds and as UTC times."""
    return {**p, "first_utc": utc(p["first"]), "last_utc": utc(p["last"])}


def _options(o: Options, dating: Dating) -> dict[str, Any]:
    out: dict[str, Any] = {"allow_unverified": o.allow_unverified, "idle_timeout": o.idle_timeout}
    if dating.as_of_ns is not None:
        out["as_of"] = seconds(dating.as_of_ns)
    if o.window is not None:
        out["window"] = {k: None if v is None else seconds(v)
                         for k, v in zip(("since", "until"), o.window, strict=True)}  # fmt: skip
    return out


def _journal(j: JournalInput) -> dict[str, Any]:
    """A journal as an input: its verified head, its rows, and the period read (as analysed:
    the window asked for, an open end closed by the first or last flow)."""
    since, until = seconds(j.since_ns), seconds(j.until_ns)
    return {"file": j.file, "head": j.head, "rows": j.rows, "since": since, "until": until,
            "since_utc": utc(since), "until_utc": utc(until)}  # fmt: skip


def _group(rows: Iterable[dict[str, Any]], dim: str) -> list[dict[str, Any]]:
    """Breakdown rows (one per verdict and place) summed by one dimension; a region keeps its
    provider, since two providers may use one region name, and is split by border group and
    country, since a place is where traffic ends (a Local Zone abroad is not its region)."""
    keys = REGION if dim == "region" else (dim,)
    groups: dict[tuple[str | None, ...], dict[str, Any]] = {}
    for r in rows:
        key = tuple(r[k] for k in keys)
        g = groups.setdefault(key, {
            **dict(zip(keys, key, strict=True)), "flows": 0, "bytes": 0,
            "verdicts": {v: {"flows": 0, "bytes": 0} for v in VERDICTS},
        })  # fmt: skip
        for into in (g, g["verdicts"][r["verdict"]]):
            into["flows"] += r["flows"]
            into["bytes"] += r["bytes"]
    return sorted(groups.values(), key=lambda g: (-g["bytes"], *(g[k] or "" for k in keys)))


def _rule(r: Rule) -> dict[str, Any]:
    return {"rule": r.name, "where": r.where, "description": r.reason, "match": _match(r.match)}


def _match(m: Match) -> dict[str, list[str]]:
    """A selector as text, key by key, in the policy's own terms."""
    out: dict[str, list[str]] = {}
    for f in fields(m):
        value = getattr(m, f.name)
        if value is None:
            continue
        if isinstance(value, str):
            out[f.name] = [value]
        elif isinstance(value, frozenset):
            out[f.name] = sorted(_TEXT.get(f.name, str)(v) for v in value)
        else:
            out[f.name] = [_TEXT.get(f.name, str)(v) for v in value]
    return out


def _cidr(c: Cidr) -> str:
    return prefix_text(c.first_hi << 64 | c.first_lo, c.last_hi << 64 | c.last_lo, c.prefix_len)


def _ports(p: tuple[int, int]) -> str:
    return str(p[0]) if p[0] == p[1] else f"{p[0]}-{p[1]}"


_TEXT: dict[str, Callable[[Any], str]] = {
    "local": _cidr, "remote": _cidr, "ports": _ports,
    "protocols": proto_name,
}  # fmt: skip
