"""What the report could not see: records not used (by reason), packets cut short, damage,
drops, downtime and unattributed connections, so that a 100% is bounded by what was watched."""

from __future__ import annotations

from collections import Counter
from typing import Any

from agent.analysis.document import CaptureInput

LINK_TYPES = {
    0: "BSD loopback", 1: "Ethernet", 101: "raw IP", 105: "IEEE 802.11", 108: "OpenBSD loopback",
    113: "Linux cooked (SLL)", 127: "802.11 radiotap", 228: "raw IPv4", 229: "raw IPv6",
    276: "Linux cooked v2 (SLL2)",
}  # fmt: skip
"""Names for the common pcap link types (tcpdump.org/linktypes.html)."""

DROPS = ("not known: residency does not read the recorder's own drop counters; packets the "
         "recorder dropped are in no flow")  # fmt: skip
DOWNTIME = ("not applicable: offline captures cover only the time they were recording, from "
            "the first to the last packet (see period)")  # fmt: skip
UNATTRIBUTED = ("capture files do not say which program made a connection: no in-scope flow is "
                "attributed to a process")  # fmt: skip


def coverage(captures: list[CaptureInput], headline: dict[str, Any]) -> dict[str, Any]:
    skipped: Counter[str] = Counter()
    for c in captures:
        skipped.update(c.stats.skipped)
    return {
        "records": sum(c.stats.records for c in captures),
        "decoded": sum(c.stats.decoded for c in captures),
        "skipped": dict(sorted(skipped.items())),
        "snaplen_cut": sum(c.stats.snaplen_cut for c in captures),
        "damaged": sorted(c.path for c in captures if c.error),
        "drops": None,
        "drops_note": DROPS,
        "downtime": None,
        "downtime_note": DOWNTIME,
        "unattributed": {"flows": headline["in_scope"]["flows"], "note": UNATTRIBUTED},
        "not_judged": {"excluded": headline["excluded"], "out_of_scope": headline["out_of_scope"]},
        "captures": [_capture(c) for c in captures],
    }


def vantage_points(captures: list[CaptureInput]) -> list[dict[str, Any]]:
    """Where the packets were recorded, as far as the files say: the capture and its links."""
    return [
        {"capture": c.path, "link_types": _links(c.stats.link_types)}
        for c in captures
    ]


def _capture(c: CaptureInput) -> dict[str, Any]:
    s = c.stats
    return {
        "path": c.path, "records": s.records, "decoded": s.decoded,
        "skipped": dict(sorted(s.skipped.items())), "anomalies": dict(sorted(s.anomalies.items())),
        "snaplen_cut": s.snaplen_cut, "link_types": _links(s.link_types),
        "untrusted_names": dict(sorted(s.untrusted_names.items())),
        "warnings": [str(w) for w in s.warnings], "error": c.error or None,
    }  # fmt: skip


def _links(counts: Counter[int]) -> list[dict[str, Any]]:
    return [{"number": n, "name": LINK_TYPES.get(n), "records": counts[n]} for n in sorted(counts)]
