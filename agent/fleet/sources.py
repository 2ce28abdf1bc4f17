"""What a fleet report rests on, source by source: each host's agent (a journal's days) and each
flow record source (format and vantage point, exact or estimated counts; days sealed from
record files, `fleet.records`) with its host-days, flows and bytes and its share of them all,
as `analyze` gives each source's share; whether any of it rests on sampled counts; and the
seconds each record source says it did not log. A journal's day has its flows and bytes from
the map's partial table (every verdict, excluded and out of scope too); a record day's come
from its manifest, sealed with it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from agent.fleet.manifest import Checked
from agent.fleet.partial import Partial
from agent.fleet.records import RECORDS
from agent.policy.judge import EXCLUDED, OUT, VERDICTS
from agent.records.model import Counts

JOURNAL = "journal"
"""The `source` of a host agent's own flows (packets counted at the host, its vantage point)."""
JUDGED = frozenset((*VERDICTS, EXCLUDED, OUT))
"""The partial rows that together hold every flow once."""


def sources(p: Partial, counted: Sequence[Checked]) -> list[dict[str, Any]]:
    judged: Counter[tuple[str, str, int]] = Counter()
    for (day, host, kind, *_), cell in p.items():
        if kind in JUDGED:
            judged[(day, host, 0)] += cell.flows
            judged[(day, host, 1)] += cell.bytes
    found: dict[tuple[str, str, str], list[int]] = {}
    for c in counted:
        day, host = c.unit
        for s in _of(c.manifest, judged[(day, host, 0)], judged[(day, host, 1)], host):
            have = found.setdefault((s["source"], s["vantage"], s["counts"]), [0, 0, 0])
            for i, n in enumerate((1, s["flows"], s["bytes"])):
                have[i] += n
    flows, size = (sum(v[i] for v in found.values()) for i in (1, 2))
    return [{"source": s, "vantage": v, "counts": k, "host_days": d, "flows": f, "bytes": b,
             "share": {"flows": share(f, flows), "bytes": share(b, size)}}
            for (s, v, k), (d, f, b) in sorted(found.items())]  # fmt: skip


def _of(m: Any, flows: int, size: int, host: str) -> list[dict[str, Any]]:
    if _records(m):
        return list(m["evidence"]["sources"])
    return [{"source": JOURNAL, "vantage": host, "counts": str(Counts.EXACT), "flows": flows,
             "bytes": size}]  # fmt: skip


def estimated(counted: Sequence[Checked]) -> bool:
    """Whether some counted day rests on sampled (estimated) counts."""
    return any(_records(c.manifest) and _evidence(c)["estimated"] for c in counted)


def gaps(counted: Sequence[Checked]) -> list[dict[str, Any]]:
    """Seconds not logged, by host, record source, vantage point and why."""
    seconds: Counter[tuple[str, str, str, str]] = Counter()
    for c in counted:
        if _records(c.manifest):
            for g in _evidence(c)["coverage_gaps"]:
                seconds[(c.unit.host, g["source"], g["vantage"], g["gap"])] += g["seconds"]
    return [{"host": h, "source": s, "vantage": v, "gap": k, "seconds": n}
            for (h, s, v, k), n in sorted(seconds.items())]  # fmt: skip


def _records(m: Any) -> bool:
    return isinstance(m, dict) and m.get("evidence", {}).get("kind") == RECORDS


def _evidence(c: Checked) -> Any:
    return (c.manifest or {})["evidence"]


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None
