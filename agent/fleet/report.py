"""`residency fleet report`: the lake's host-days checked, mapped, merged and finalized into one
canonical document (schema in docs/fleet-schema.md).

Coverage is part of the answer: the host-days whose manifest is missing, unreadable, signed by
a key the fleet's key list does not give the host, or does not match its files are named and
not counted; the hosts the `--hosts` list expects that sent nothing are named; and each
counted host-day's unwatched time (from its heartbeats, or a record source's NODATA and
SKIPDATA) is summed per host. The headline says how many host-days it rests on, and whether any
of it rests on sampled flow records; `sources` gives each source's share (`fleet.sources`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from agent import __version__
from agent.findings.document import PLACE, RangeInput
from agent.fleet import engines, manifest, sources
from agent.fleet.lake import HostDay, Lake
from agent.fleet.partial import WEAK, Cell, Partial
from agent.model import seconds
from agent.policy.access import LABELS
from agent.policy.judge import APPROVED, EXCLUDED, OUT, VERDICTS, Judge
from agent.policy.model import Policy

SCHEMA = "residency.fleet/1"
KINDS = (*VERDICTS, WEAK, EXCLUDED, OUT, *LABELS.values())


@dataclass(frozen=True)
class Request:
    """What a fleet report is asked: the lake, the policy and ranges, whose keys to trust,
    which hosts should have reported, and the dates (inclusive, UTC)."""

    lake: Lake
    policy: Policy
    judge: Judge
    ranges: Sequence[RangeInput]
    keys: Mapping[str, Ed25519PublicKey]
    keys_sha256: str
    hosts: Sequence[str] | None = None
    since: date | None = None
    until: date | None = None


def report(req: Request, engine: str = "duckdb", master: str = "local[2]") -> dict[str, Any]:
    units = [u for u in req.lake.units() if _within(req, u.date)]
    checked = [check_unit(req, u) for u in units]
    files = [f"{req.lake.flows_dir(c.unit)}/{f['file']}" for c in checked
             if c.manifest is not None for f in c.manifest["files"]]  # fmt: skip
    merged = engines.partials(engine, req.lake, files, req.judge, master)
    return finalize(merged, checked, req)


def _within(req: Request, day: str) -> bool:
    return (req.since is None or req.since.isoformat() <= day) and (
        req.until is None or day <= req.until.isoformat())


def check_unit(req: Request, unit: HostDay) -> manifest.Checked:
    lake = req.lake
    folder = lake.flows_dir(unit)
    files = {name: lake.read(f"{folder}/{name}") or b"" for name in lake.files(folder)}
    data = lake.read(lake.manifest_path(unit))
    return manifest.check(unit, data, req.keys.get(unit.host), files)


def finalize(p: Partial, checked: Sequence[manifest.Checked], req: Request) -> dict[str, Any]:
    """The document: plain data, every list sorted, nothing from a clock."""
    totals: dict[str, list[int]] = {k: [0, 0] for k in KINDS}
    places: dict[tuple[str, ...], Cell] = {}
    hosts: dict[str, dict[str, list[int]]] = defaultdict(lambda: {k: [0, 0] for k in KINDS})
    first = last = None
    for (_day, host, kind, *place), c in p.items():
        for table in (totals, hosts[host]):
            table[kind][0] += c.flows
            table[kind][1] += c.bytes
        if kind == WEAK:  # a part of the approved rows, not a place of its own
            continue
        key = (kind, *place)
        places[key] = c if key not in places else places[key].plus(c)
        first = c.first_ns if first is None else min(first, c.first_ns)
        last = c.last_ns if last is None else max(last, c.last_ns)
    counted = [c for c in checked if c.status == manifest.OK]
    inside = [sum(totals[k][i] for k in VERDICTS) for i in (0, 1)]
    return {
        "schema": SCHEMA,
        "tool": {"name": "residency", "version": __version__},
        "period": {"since": _date(req.since), "until": _date(req.until),
                   "first": _time(first), "last": _time(last)},  # fmt: skip
        "headline": {
            "host_days": len(counted), "host_days_expected": _expected(req, checked),
            "hosts": len({c.unit.host for c in counted}),
            "in_scope": _count(inside),
            **{k: _count(totals[k]) for k in VERDICTS},
            "approved_share": sources.share(totals[APPROVED][0], inside[0]),
            "estimated_counts": sources.estimated(counted),
            "approved_weak": _count(totals[WEAK]),
            "excluded": _count(totals[EXCLUDED]), "out_of_scope": _count(totals[OUT]),
            "access": {k: {"sessions": totals[k][0], "bytes_out": totals[k][1]}
                       for k in LABELS.values()},
        },  # fmt: skip
        "breakdown": [
            {"verdict": k[0], **{d: v or None for d, v in zip(PLACE, k[1:], strict=True)},
             "flows": c.flows, "bytes": c.bytes, "first": _time(c.first_ns),
             "last": _time(c.last_ns)}
            for k, c in sorted(places.items())
        ],  # fmt: skip
        "hosts": [{"host": h, **{k: _count(v) for k, v in t.items()}}
                  for h, t in sorted(hosts.items())],  # fmt: skip
        "sources": sources.sources(p, counted),
        "coverage": _coverage(req, checked),
        "inputs": {
            "policy": {"file": req.policy.file, "sha256": req.policy.sha256,
                       "name": req.policy.name},  # fmt: skip
            "ranges": [{"slot": r.slot, "version": r.version, "sha256": r.sha256}
                       for r in sorted(req.ranges, key=lambda r: r.slot)],  # fmt: skip
            "host_keys_sha256": req.keys_sha256,
            "hosts": None if req.hosts is None else sorted(set(req.hosts)),
            "manifests": [{"date": c.unit.date, "host": c.unit.host, "sha256": c.sha256}
                          for c in counted],  # fmt: skip
        },
    }


def _coverage(req: Request, checked: Sequence[manifest.Checked]) -> dict[str, Any]:
    seen = {c.unit for c in checked}
    missing = []
    if req.hosts is not None:
        days = _days(req, checked)
        missing = [HostDay(d, h) for h in sorted(set(req.hosts)) for d in days
                   if HostDay(d, h) not in seen]  # fmt: skip
    unwatched: dict[str, int] = defaultdict(int)
    for c in checked:
        if c.manifest is not None:
            unwatched[c.unit.host] += int(c.manifest["unwatched_ns"])
    return {
        "expected_hosts": None if req.hosts is None else len(set(req.hosts)),
        "hosts_without_data": sorted(set(req.hosts or ()) - {c.unit.host for c in checked}),
        "unknown_hosts": sorted({c.unit.host for c in checked} - set(req.hosts))
        if req.hosts is not None else [],
        "not_counted": [c.as_dict() for c in checked if c.status != manifest.OK]
        + [manifest.Checked(u, manifest.MISSING, "no data for this host-day").as_dict()
           for u in missing],
        "unwatched": [{"host": h, "seconds": seconds(ns)} for h, ns in sorted(unwatched.items())],
        "record_gaps": sources.gaps([c for c in checked if c.status == manifest.OK]),
    }  # fmt: skip


def _days(req: Request, checked: Sequence[manifest.Checked]) -> list[str]:
    """The days a listed host should have reported: the asked period, else the lake's days."""
    if req.since is not None and req.until is not None:
        n = (req.until - req.since).days + 1
        return [(req.since + timedelta(days=i)).isoformat() for i in range(max(n, 0))]
    return sorted({c.unit.date for c in checked})


def _expected(req: Request, checked: Sequence[manifest.Checked]) -> int:
    hosts = set(req.hosts) if req.hosts is not None else {c.unit.host for c in checked}
    days = set(_days(req, checked))
    extra = {c.unit for c in checked if c.unit.host not in hosts or c.unit.date not in days}
    return len(hosts) * len(days) + len(extra)


def _count(c: Sequence[int]) -> dict[str, int]:
    return {"flows": c[0], "bytes": c[1]}


def _date(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


def _time(ns: int | None) -> str | None:
    return None if ns is None else seconds(ns)
