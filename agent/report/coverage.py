"""What the report could not see: records not used (by reason), packets cut short, damage,
drops, downtime and unattributed connections, so that a 100% is bounded by what was watched.

Captures say what they recorded; a daemon's journal says, through its heartbeats, when the
agent was watching and what its counters saw, and each flow carries its process or none.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agent.findings.document import CaptureInput, JournalInput, capture_error, capture_warnings
from agent.model import seconds
from agent.report.times import span

DROPS = ("not known: the captures carry no drop counters (classic pcap never does, pcapng "
         "only in interface statistics blocks); packets the recorder dropped are in no "
         "flow")  # fmt: skip
DROPS_PCAPNG = ("{n:,} packets, as the recorder counted them (pcapng interface statistics: "
                "isb_ifdrop + isb_osdrop) in {k} of {m} captures; they are in no flow")  # fmt: skip
DOWNTIME = ("not applicable: offline captures cover only the time they were recording, from "
            "the first to the last packet (see period)")  # fmt: skip
UNATTRIBUTED = ("capture files do not say which program made a connection: no in-scope flow is "
                "attributed to a process")  # fmt: skip
DROPS_JOURNAL = ("counted by the agent's heartbeats over the period: received, packets its "
                 "capture sockets received; drops, packets the kernel dropped because the agent "
                 "could not keep up (they are in no flow); lost, rows the agent judged but could "
                 "not journal (their flows are not in the report)")  # fmt: skip
NO_COUNTERS = "not known: the journal's heartbeats carry no counters"
DOWNTIME_JOURNAL = ("times within the period that no heartbeat covers: the agent was not "
                    "watching (stopped, crashed, or its rows were cut), so traffic then is not "
                    "in the report")  # fmt: skip
UNATTRIBUTED_JOURNAL = ("in-scope flows the agent could attribute to no process (the connection "
                        "had closed, or belonged to no local socket, when it looked)")  # fmt: skip
GUESSED = ("in-scope flows whose local side neither the policy's local networks nor a TCP SYN "
           "decided, only the ports (the server's well-known or registered port against the "
           "client's ephemeral one) or, failing those, the first packet seen: a flow seen "
           "from its far side would be judged the wrong way round")  # fmt: skip
COUNTED = ("received", "drops", "lost")
"""The heartbeat counters that say what was not seen, in `coverage.drops`."""


@dataclass(frozen=True, slots=True)
class Watch:
    """How well the agent watched one journal's period (`report.journal.watched` reads it)."""

    heartbeats: int
    """Heartbeats that overlap the period."""
    counters: dict[str, int]
    """What those heartbeats counted in their own intervals, by the daemon's names: `received`
    packets, kernel `drops`, `lost` journal rows, flows `judged` and `attributed`."""
    counted: tuple[int, int] | None
    """From the start of the first of those heartbeats to the end of the last."""
    unattributed_flows: int
    unattributed_bytes: int
    hosts: tuple[str, ...] = ()
    interfaces: tuple[str, ...] = ()


def coverage(
    captures: list[CaptureInput], headline: dict[str, Any], direction: dict[str, Any],
    journals: Sequence[JournalInput] = (), watches: Sequence[Watch] = (),
) -> dict[str, Any]:  # fmt: skip
    """`headline` and `direction` are the analysis document's."""
    skipped: Counter[str] = Counter()
    for c in captures:
        skipped.update(c.stats.skipped)
    inside = headline["in_scope"]
    if journals:
        unattributed = {"flows": sum(w.unattributed_flows for w in watches),
                        "bytes": sum(w.unattributed_bytes for w in watches),
                        "note": UNATTRIBUTED_JOURNAL}  # fmt: skip
        drops = _drops(watches)
        note = DROPS_JOURNAL if drops else NO_COUNTERS
    else:
        unattributed = {"flows": inside["flows"], "bytes": inside["bytes"], "note": UNATTRIBUTED}
        known = [c.stats.drops for c in captures if c.stats.drops is not None]
        drops = {"drops": sum(known)} if known else None
        note = DROPS_PCAPNG.format(n=sum(known), k=len(known), m=len(captures)) if known else DROPS
    return {
        "records": sum(c.stats.records for c in captures),
        "not_selected": sum(c.stats.not_selected for c in captures),
        "decoded": sum(c.stats.decoded for c in captures),
        "skipped": dict(sorted(skipped.items())),
        "snaplen_cut": sum(c.stats.snaplen_cut for c in captures),
        "damaged": sorted(c.file for c in captures if c.error),
        "cut_short": sorted(c.file for c in captures if c.stats.warnings),
        "drops": drops,
        "drops_note": note,
        "downtime": _downtime(journals) if journals else None,
        "downtime_note": DOWNTIME_JOURNAL if journals else DOWNTIME,
        "unattributed": unattributed,
        "not_judged": {"excluded": headline["excluded"], "out_of_scope": headline["out_of_scope"]},
        "direction_guessed": {**direction["inferred"], "by": direction["by"], "note": GUESSED},
        "captures": [_capture(c, captures) for c in captures],
        "journals": [_journal(j, w) for j, w in zip(journals, watches, strict=True)],
    }


def vantage_points(
    captures: list[CaptureInput], watches: Sequence[tuple[str, Watch]] = ()
) -> list[dict[str, Any]]:
    """Where the packets were seen, as far as the inputs say: each capture and its links; each
    journal (by file name) with the hosts and interfaces the agent named when it started."""
    return [
        *({"capture": c.file, **c.stats.as_dict(("link_types",))} for c in captures
          if not c.repeat),
        *({"journal": file, "hosts": list(w.hosts), "interfaces": list(w.interfaces)}
          for file, w in watches),
    ]  # fmt: skip


def _drops(watches: Sequence[Watch]) -> dict[str, int | None] | None:
    """The loss counters summed over journals; None when no heartbeat carries any counter."""
    seen = [w.counters for w in watches if w.counters]
    if not seen:
        return None
    return {k: sum(c[k] for c in seen if k in c) if any(k in c for c in seen) else None
            for k in COUNTED}  # fmt: skip


def _downtime(journals: Sequence[JournalInput]) -> dict[str, Any]:
    gaps = [(a, b) for j in journals for a, b in j.unwatched]
    unseen = sum(b - a for a, b in gaps)
    period = sum(j.until_ns - j.since_ns for j in journals)
    return {"seconds": seconds(unseen), "share": round(unseen / period, 6) if period else None,
            "periods": len(gaps)}  # fmt: skip


def _journal(j: JournalInput, w: Watch) -> dict[str, Any]:
    return {
        "file": j.file, **span(j.since_ns, j.until_ns), "heartbeats": w.heartbeats,
        "counters": w.counters, "counted": span(*w.counted) if w.counted else None,
        "unwatched": [span(a, b) for a, b in j.unwatched],
        "unattributed": {"flows": w.unattributed_flows, "bytes": w.unattributed_bytes},
    }  # fmt: skip


def _capture(c: CaptureInput, captures: list[CaptureInput]) -> dict[str, Any]:
    keys = ("records", "not_selected", "decoded", "skipped", "anomalies", "snaplen_cut",
            "link_types", "untrusted_names")  # fmt: skip
    return {"file": c.file, **c.stats.as_dict(keys), "warnings": capture_warnings(c, captures),
            "error": capture_error(c)}  # fmt: skip
