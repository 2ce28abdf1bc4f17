"""Typed rows for what the daemon writes: flows with their verdicts and process, heartbeats
(when the agent was watching), the inputs in force (policy and range versions), start and stop.

The journal itself stores any `Entry`; these helpers fix each kind's body so that what the
daemon writes and what `flows --journal` and reports read back cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agent.errors import JournalError
from agent.journal.chain import Entry, StoredRow
from agent.model import Flow, Process

FLOW, HEARTBEAT, INPUTS = "flow", "heartbeat", "inputs"
START, STOP, ANCHOR = "start", "stop", "anchor"


@dataclass(frozen=True, slots=True)
class JournalFlow:
    """A flow as journaled, with the verdict it was given and the process that owned it."""

    seq: int
    flow: Flow
    verdict: Mapping[str, Any]
    """The judge's verdict in its JSON form (decision, rule `file:line`, evidence)."""
    process: Process | None = None


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The agent was capturing from `since_ns` to `at_ns` (its own clock, passed in)."""

    since_ns: int
    at_ns: int
    counters: Mapping[str, int] = field(default_factory=dict)
    """What the period saw: packets, kernel drops, open flows... as the daemon names them."""
    seq: int = 0


@dataclass(frozen=True, slots=True)
class InputsRow:
    """The policy and range files in force from `at_ns` until the next `inputs` row."""

    at_ns: int
    policy_sha256: str
    ranges: Mapping[str, str]
    """Range, country or sites file -> its version (sha256, or the provider's serial)."""
    policy_path: str = ""
    seq: int = 0


def flow_entry(flow: Flow, verdict: Mapping[str, Any], process: Process | None = None) -> Entry:
    """A flow row spans the flow's capture times, so a window query finds every flow that
    overlaps it."""
    fields: dict[str, Any] = {
        k: v if isinstance(v, str) else int(v) for k, v in flow._asdict().items() if k != "names"
    }
    fields["names"] = [[str(source), str(name)] for source, name in flow.names]
    proc = None if process is None else process.as_dict()
    body = {"flow": fields, "verdict": dict(verdict), "process": proc}
    return Entry(FLOW, int(flow.first_ns), body, int(flow.last_ns))


def heartbeat_entry(since_ns: int, at_ns: int, counters: Mapping[str, int]) -> Entry:
    return Entry(HEARTBEAT, since_ns, {"counters": dict(counters)}, at_ns)


def inputs_entry(
    at_ns: int, policy_sha256: str, ranges: Mapping[str, str], policy_path: str = ""
) -> Entry:
    body = {"policy_sha256": policy_sha256, "policy_path": policy_path, "ranges": dict(ranges)}
    return Entry(INPUTS, at_ns, body)


def start_entry(at_ns: int, info: Mapping[str, Any] | None = None) -> Entry:
    """The agent began watching (its version, interfaces...): a `start` not preceded by a `stop`
    marks a crash, or rows cut from the end of the journal before the agent resumed."""
    return Entry(START, at_ns, dict(info or {}))


def stop_entry(at_ns: int, reason: str) -> Entry:
    """The agent stopped cleanly: the last row of a journal that was not cut short."""
    return Entry(STOP, at_ns, {"reason": reason})


def read_flow(row: StoredRow) -> JournalFlow:
    try:
        fields = dict(row.body["flow"])
        fields["names"] = tuple((source, name) for source, name in fields["names"])
        proc = row.body.get("process")
        process = None if proc is None else Process(**{**proc, "cmdline": tuple(proc["cmdline"])})
        return JournalFlow(row.seq, Flow(**fields), row.body["verdict"], process)
    except (KeyError, TypeError, ValueError) as err:
        raise JournalError(f"seq {row.seq}: not a readable flow row ({err!r})") from err


def read_heartbeat(row: StoredRow) -> Heartbeat:
    try:
        return Heartbeat(row.ts_ns, row.end_ns, dict(row.body["counters"]), row.seq)
    except (KeyError, TypeError, ValueError) as err:
        raise JournalError(f"seq {row.seq}: not a readable heartbeat row ({err!r})") from err


def read_inputs(seq: int, ts_ns: int, body: Mapping[str, Any]) -> InputsRow:
    try:
        ranges = dict(body["ranges"])
        return InputsRow(ts_ns, body["policy_sha256"], ranges, body.get("policy_path", ""), seq)
    except (KeyError, TypeError, ValueError) as err:
        raise JournalError(f"seq {seq}: not a readable inputs row ({err!r})") from err


def unwatched(beats: Iterable[Heartbeat], since_ns: int, until_ns: int) -> list[tuple[int, int]]:
    """The parts of [since_ns, until_ns) that no heartbeat covers, in order: when the agent was
    not watching (not running, or its rows were cut from the journal)."""
    gaps, covered = [], since_ns
    for beat in sorted(beats, key=lambda b: b.since_ns):
        if beat.since_ns > covered:
            gaps.append((covered, min(beat.since_ns, until_ns)))
        covered = max(covered, beat.at_ns)
        if covered >= until_ns:
            break
    if covered < until_ns:
        gaps.append((covered, until_ns))
    return [(a, b) for a, b in gaps if a < b]
