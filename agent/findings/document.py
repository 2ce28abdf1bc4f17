"""A tally and its inputs -> the analysis document: plain data with a versioned schema
(docs/analysis-schema.md), every list sorted, no wall-clock time, so the same inputs give the
same bytes when serialised canonically (`canonical`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agent import __version__
from agent.files import input_name
from agent.findings.access import section
from agent.findings.dating import NO_DATING, Dating, distance, notices
from agent.findings.tally import Count, Destination, RuleUse, Tally
from agent.model import DIRECTIONS, CaptureStats, seconds
from agent.policy.judge import APPROVED, EXCLUDED, EXEMPT, OUT, UNVERIFIED, VERDICTS, VIOLATION
from agent.policy.model import Exception_, Policy
from agent.records.evidence import RecordEvidence

SCHEMA = "residency.analysis/3"
PLACE = ("provider", "region", "border_group", "country", "site", "city")
"""A breakdown row's place, in the order of `Tally.places` keys."""


@dataclass(frozen=True, slots=True)
class CaptureInput:
    """One capture as read: its hash, and what could and could not be used."""

    path: str
    """As opened; documents name the capture by `file`."""
    sha256: str
    size: int
    stats: CaptureStats = field(compare=False)
    error: str = ""
    """Set when the capture was damaged part-way: the analysis covers what came before."""
    alias: str = ""
    """The name a report knows this capture by, when it is read under another (a re-run)."""
    repeat: bool = False
    """The capture is an earlier one's again (the same sha256): it was not read a second time."""

    @property
    def file(self) -> str:
        return self.alias or input_name(self.path)


@dataclass(frozen=True, slots=True)
class JournalInput:
    """A daemon's journal as read: its verified head, and when the agent was not watching."""

    path: str
    head: str
    """`seq:sha256` of the last row, proved by verification before reading."""
    rows: int
    since_ns: int
    until_ns: int
    unwatched: list[tuple[int, int]]
    """Parts of [since, until) that no heartbeat covers: the agent was not running."""
    alias: str = ""
    """The name a report knows this journal by, when it is read under another (a re-run)."""

    @property
    def file(self) -> str:
        return self.alias or input_name(self.path)


@dataclass(frozen=True, slots=True)
class RangeInput:
    slot: str
    version: str
    sha256: str
    created: str
    size: int = 0
    """Of the file as stored (uncompressed): a verifier looks for files of this size."""


def document(
    tally: Tally, policy: Policy, captures: list[CaptureInput], ranges: list[RangeInput],
    allow_unverified: bool = False, journals: list[JournalInput] | None = None,
    dating: Dating = NO_DATING, window: tuple[int | None, int | None] | None = None,
    records: RecordEvidence | None = None, capture_filter: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """`dating`: the traffic's start and the moment the range versions were chosen for, which
    each version's distance is measured against. `window`: the [since, until) the flows were
    selected by, when one was given; `capture_filter`: the `--filter` the capture records
    were selected by."""
    inside = tally.in_scope
    read = [c for c in captures if not c.repeat]  # a repeat may have the same path, another name
    names = {c.path: c.file for c in read} | {j.path: j.file for j in journals or []}
    in_force = [_range(r, dating) for r in sorted(ranges, key=lambda r: r.slot)]
    return {
        "schema": SCHEMA,
        "tool": {"name": "residency", "version": __version__},
        "complete": complete(captures),
        "compliant": tally.compliant(allow_unverified),
        "nothing_in_scope": nothing_in_scope(tally, policy, captures, journals or []),
        "allow_unverified": allow_unverified,
        "period": {"first": _time(tally.first_ns), "last": _time(tally.last_ns)},
        "window": None if window is None else {"since": _time(window[0]),
                                               "until": _time(window[1])},  # fmt: skip
        "headline": {
            "in_scope": inside.as_dict(),
            **{k: tally.totals[k].as_dict() for k in VERDICTS},
            "approved_share": _share(tally.totals[APPROVED], inside),
            "estimated_counts": bool(records and records.estimated),
            "approved_weak": tally.approved_weak.as_dict(),
            "excluded": tally.totals[EXCLUDED].as_dict(),
            "out_of_scope": tally.totals[OUT].as_dict(),
        },
        "direction": {
            "inferred": tally.inferred.as_dict(),
            "by": {how: tally.directions[how].as_dict() for how in DIRECTIONS},
        },
        "violations": _destinations(tally, VIOLATION, names),
        "unverified": _destinations(tally, UNVERIFIED, names),
        "approvals": [_use(u) for u in tally.used(APPROVED)],
        "exemptions": [_use(u) for u in tally.used(EXEMPT)],
        "exceptions_not_in_force": [
            _use(u) for u in tally.used(VIOLATION) if isinstance(u.rule, Exception_)
        ],
        "exclusions": [_use(u) for u in tally.used(EXCLUDED)],
        "breakdown": [
            {"verdict": k[0], **{d: v or None for d, v in zip(PLACE, k[1:], strict=True)},
             **c.as_dict()}
            for k, c in sorted(tally.places.items())
        ],  # fmt: skip
        "timeline": _timeline(tally),
        "contradictions": sorted(tally.contradictions),
        "access": section(tally.access, policy, names) if policy.access.protect else None,
        "inputs": {
            "captures": [_capture(c, captures) for c in captures],
            "filter": capture_filter,
            "journals": [_journal(j) for j in journals or []],
            "policy": {"file": policy.file, "sha256": policy.sha256, "name": policy.name},
            "ranges": in_force,
            "ranges_chosen": dating.as_dict(),
            **({} if records is None else _records(records, names)),
        },
        "range_notices": notices(in_force, dating),
    }


def complete(captures: list[CaptureInput]) -> bool:
    """Every capture was read to its end: none damaged part-way, none cut off mid-record."""
    return not any(c.error or c.stats.warnings for c in captures)


def nothing_in_scope(
    tally: Tally, policy: Policy, captures: list[CaptureInput], journals: list[JournalInput]
) -> str | None:
    """Why no flow was in scope (None when some was): an answer about nothing is no pass."""
    if tally.in_scope.flows or tally.access.sessions.sessions:
        return None
    read = tally.read.flows
    if not read:
        if journals:
            return "the journal holds no flows in the period read"
        records = sum(c.stats.records for c in captures)
        return f"the captures hold no flows ({records:,} records read)"
    live = [r for r in policy.include if r.match.live_only()]
    if not journals and live and len(live) == len(policy.include):
        keys = ", ".join(f"{r.name} ({'/'.join(r.match.live_only())}, {r.where})" for r in live)
        return (f"every scope.include rule uses live-only keys, which match nothing in "
                f"captures: {keys}")  # fmt: skip
    excluded = tally.totals[EXCLUDED].flows
    if excluded == read:
        return f"all {read:,} flows selected by scope.include were excluded by scope.exclude"
    where = ", ".join(r.where for r in policy.include)
    if excluded:
        return (f"{read - excluded:,} of the {read:,} flows read matched no scope.include rule "
                f"({where}) and the other {excluded:,} were excluded by scope.exclude")  # fmt: skip
    return f"none of the {read:,} flows read matched scope.include ({where})"


def canonical(doc: dict[str, Any]) -> bytes:
    """The one serialisation that is hashed and signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _share(part: Count, whole: Count) -> dict[str, float | None]:
    """Fractions rounded to 6 places (None when nothing is in scope): the counts beside them in
    the headline are the exact numbers."""
    return {
        "flows": round(part.flows / whole.flows, 6) if whole.flows else None,
        "bytes": round(part.bytes / whole.bytes, 6) if whole.bytes else None,
    }


def _destinations(tally: Tally, kind: str, names: dict[str, str]) -> list[dict[str, Any]]:
    found = [d for (k, _), d in tally.destinations.items() if k == kind]
    found.sort(key=lambda d: (-d.count.bytes, d.answer.address))
    return [_destination(d, names) for d in found]


def _destination(d: Destination, names: dict[str, str]) -> dict[str, Any]:
    return {
        **d.answer.as_dict(), **d.count.as_dict(),
        "first": seconds(d.first_ns), "last": seconds(d.last_ns),
        "names": [{"source": s, "name": n} for s, n in sorted(d.names)],
        "ports": [{"protocol": p, "port": port} for p, port in sorted(d.ports)],
        "notes": sorted(d.notes), "rules": sorted(d.rules), "processes": sorted(d.processes),
        "weak": d.weak,
        "evidence": sorted(({"input": names.get(k, k), "flow_serials": sorted(v)}
                            for k, v in d.evidence.items()), key=lambda e: e["input"]),
    }  # fmt: skip


def _use(u: RuleUse) -> dict[str, Any]:
    r = u.rule
    out: dict[str, Any] = {"rule": r.name, "where": r.where, "reason": r.reason,
                           **u.count.as_dict(), "weak": u.weak.as_dict()}  # fmt: skip
    if isinstance(r, Exception_):
        out["until"] = r.until.isoformat()
        out["since"] = r.since.isoformat() if r.since else None
    return out


def _range(r: RangeInput, dating: Dating) -> dict[str, Any]:
    return {"slot": r.slot, "version": r.version, "sha256": r.sha256, "size": r.size,
            "created": r.created, **distance(r.slot, r.created, dating)}  # fmt: skip


def _capture(c: CaptureInput, captures: list[CaptureInput]) -> dict[str, Any]:
    s, first = c.stats, _first(c, captures)
    return {"file": c.file, "sha256": c.sha256, "size": c.size,
            **s.as_dict(("records", "not_selected", "decoded", "skipped", "drops",
                         "untrusted_names")),
            "warnings": capture_warnings(c, captures), "error": capture_error(c),
            "same_as": first.file if c.repeat else None}  # fmt: skip


def capture_warnings(c: CaptureInput, captures: list[CaptureInput]) -> list[str]:
    """The damage that did not stop the reading, each naming the capture by its file name; for
    a repeat, that it was read once."""
    if c.repeat:
        return [repeat_warning(c.file, _first(c, captures).file, c.sha256)]
    return [f"{c.file}: offset {w.offset}: {w.reason}" for w in c.stats.warnings]


def repeat_warning(name: str, first: str, sha256: str) -> str:
    return f"{name}: the same capture as {first} (sha256 {sha256[:16]}...): read once"


def _first(c: CaptureInput, captures: list[CaptureInput]) -> CaptureInput:
    """The capture read under `c`'s sha256 (`c` itself unless it is a repeat)."""
    return next((x for x in captures if x.sha256 == c.sha256 and not x.repeat), c)


def capture_error(c: CaptureInput) -> str | None:
    """The damage that stopped the reading, naming the capture by its file name."""
    if not c.error:
        return None
    return c.file + c.error.removeprefix(c.path) if c.error.startswith(f"{c.path}: ") else c.error


def _records(r: RecordEvidence, names: dict[str, str]) -> dict[str, Any]:
    """Flow record inputs: each source (format, vantage point, exact or estimated) with its
    share of the flows and bytes judged, what joining merged, and the seconds not seen."""
    total = Count(sum(s.flows for s in r.sources), sum(s.bytes for s in r.sources))
    sources = sorted(r.sources, key=lambda s: (s.source, s.vantage))
    return {
        "record_files": [{"file": names.get(p, p), "kind": k} for p, _, _, k, _, _ in r.files],
        "sources": [{
            "source": s.source, "vantage": names.get(s.vantage, s.vantage), "counts": str(s.counts),
            "records": s.records, "flows": s.flows, "bytes": s.bytes,
            "in_scope": {"flows": s.in_scope_flows, "bytes": s.in_scope_bytes},
            "share": _share(Count(s.flows, s.bytes), total),
        } for s in sources],
        "records_merged": {"directions": r.merged_directions, "duplicates": r.merged_duplicates},
        "records_rejected": r.rejected,
        "coverage_gaps": [{"source": s, "vantage": v, "gap": g, "seconds": n}
                          for (s, v, g), n in sorted(r.gaps.items())],
    }  # fmt: skip


def _journal(j: JournalInput) -> dict[str, Any]:
    gaps = [{"from": seconds(a), "to": seconds(b)} for a, b in j.unwatched]
    return {"file": j.file, "head": j.head, "rows": j.rows, "since": seconds(j.since_ns),
            "until": seconds(j.until_ns), "unwatched": gaps}  # fmt: skip


def _time(ns: int | None) -> str | None:
    return seconds(ns) if ns is not None else None


def _timeline(tally: Tally) -> dict[str, Any]:
    """In scope over time, in the bin width the period calls for (`findings.timeline`)."""
    if tally.first_ns is None or tally.last_ns is None:
        return {"bin": None, "rows": []}
    width, rows = tally.timeline.rows(tally.first_ns, tally.last_ns)
    return {"bin": width.name, "rows": [
        {"start": datetime.fromtimestamp(s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "verdict": k,
         "flows": flows, "bytes": nbytes} for s, k, flows, nbytes in rows]}  # fmt: skip
