"""Compare residency's TCP/UDP flows with tshark's conversations from `*.truth.json`."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from agent.capture import open_capture
from agent.chain.pipeline import FlowPipeline, flows_from
from agent.errors import CaptureError
from agent.model import CaptureStats, Flow

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PCAPS = SHARED / "pcaps"
FLOWLOGS = SHARED / "flowlogs"

# One side of a conversation: (frames, frame bytes, ip bytes).
Side = tuple[int, int, int]
# (proto, depth, (addr, port), (addr, port)) -> sides, earliest conversation first.
Conversations = dict[tuple[Any, ...], list[tuple[Side, Side]]]


def truth(capture: Path) -> dict[str, Any]:
    return json.loads(capture.with_name(capture.name + ".truth.json").read_text())  # type: ignore[no-any-return]


def analyze(capture: Path) -> tuple[list[Flow], CaptureStats, CaptureError | None]:
    pipe = FlowPipeline()
    found: list[Flow] = []
    try:
        with open_capture(str(capture)) as source:
            for batch in flows_from(source, pipe):
                found.extend(batch.records())
    except CaptureError as err:
        return found, pipe.stats, err
    return found, pipe.stats, None


def _put(convs: Conversations, proto: int, depth: int, a: Any, b: Any, ab: Side, ba: Side) -> None:
    """File a conversation under a direction-free key, sides ordered like the key."""
    if a <= b:
        convs[(proto, depth, a, b)].append((ab, ba))
    else:
        convs[(proto, depth, b, a)].append((ba, ab))


def tshark_conversations(t: dict[str, Any]) -> Conversations:
    convs: Conversations = defaultdict(list)
    for proto, name in ((6, "tcp"), (17, "udp")):
        for c in sorted(t["conversations"][name], key=lambda c: float(c["first_ts"])):
            ab = (c["frames_a_to_b"], c["bytes_a_to_b"], c["ip_bytes_a_to_b"])
            ba = (c["frames_b_to_a"], c["bytes_b_to_a"], c["ip_bytes_b_to_a"])
            a, b = (c["a_addr"], c["a_port"]), (c["b_addr"], c["b_port"])
            _put(convs, proto, c["l4_depth"], a, b, ab, ba)
    return dict(convs)


def our_conversations(flows: list[Flow]) -> Conversations:
    convs: Conversations = defaultdict(list)
    for f in sorted(flows, key=lambda f: f.first_ns):
        if f.proto in (6, 17):
            fwd = (f.packets_fwd, f.frame_bytes_fwd, f.bytes_fwd)
            rev = (f.packets_rev, f.frame_bytes_rev, f.bytes_rev)
            _put(convs, f.proto, f.depth, (f.src, f.sport), (f.dst, f.dport), fwd, rev)
    return dict(convs)


def differences(ours: Conversations, theirs: Conversations) -> dict[tuple[Any, ...], Any]:
    """key -> (ours, tshark's) wherever the two disagree."""
    keys = set(ours) | set(theirs)
    return {k: (ours.get(k), theirs.get(k)) for k in keys if ours.get(k) != theirs.get(k)}
