"""The per-stream buffer of first client bytes: in order whatever the segments' order, and
bounded whatever the segments (issue: a stream whose first segment was missing kept all of its
3,000 segments, 4.2 MB, against a 16 KiB window)."""

from __future__ import annotations

import random

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from agent.chain.pipeline import FlowPipeline
from agent.names.tcp import FIRST_BYTES, HELD_BYTES, TcpStart
from agent.wire.batch import RecordBatch

ISN = 1_000_000
SEGMENT = 1400
STREAM = bytes(random.Random(7).getrandbits(8) for _ in range(3000 * SEGMENT))


def segments(stream: bytes, base: int, size: int = SEGMENT) -> list[tuple[int, bytes]]:
    return [((base + i) % (1 << 32), stream[i : i + size]) for i in range(0, len(stream), size)]


def test_a_stream_missing_its_first_segment_holds_at_most_its_bound() -> None:
    start = TcpStart(ISN)
    for seq, data in segments(STREAM, ISN)[1:]:
        assert start.add(seq, data) == b""
        assert start.held <= HELD_BYTES
    assert start.held <= FIRST_BYTES
    assert start.stalled


def test_a_stream_seen_mid_way_in_reverse_holds_only_its_window() -> None:
    start = TcpStart()
    parts = segments(STREAM[: 100 * SEGMENT], ISN)
    for seq, data in reversed(parts):
        start.add(seq, data)
        assert start.held <= HELD_BYTES
    assert start.add(*parts[0]) == STREAM[:FIRST_BYTES]
    assert start.held <= FIRST_BYTES


def test_overlapping_retransmissions_at_every_offset_stay_bounded() -> None:
    start = TcpStart(ISN)
    for i in range(1, FIRST_BYTES, 7):
        start.add(ISN + i, STREAM[i : i + 4000])
    assert start.held <= HELD_BYTES


def test_sequence_numbers_wrap_around() -> None:
    base = (1 << 32) - 3000
    start = TcpStart(base)
    out = b""
    for seq, data in segments(STREAM[:20_000], base):
        out = start.add(seq, data)
    assert out == STREAM[:FIRST_BYTES]


@given(st.permutations(range(15)), st.booleans())
def test_any_order_gives_the_stream_from_its_start(order: list[int], known: bool) -> None:
    parts = segments(STREAM[: 15 * SEGMENT], ISN)
    start = TcpStart(ISN if known else None)
    for i in order:
        if known or i:  # unknown start: the first segment is the earliest, so it is given last
            out = start.add(*parts[i])
    out = start.add(*parts[0])
    assert out == STREAM[:FIRST_BYTES]
    assert start.held <= HELD_BYTES


def test_the_name_finder_lets_a_stalled_stream_go() -> None:
    """Through the pipeline: the SYN is seen, the first data segment is not; the finder stops
    holding the flow's bytes once they pass the window, and holds no more than the bound."""
    client, server = "10.0.0.1", "129.213.0.10"

    def frame(flags: str, seq: int, data: bytes = b"") -> bytes:
        tcp = TCP(sport=40000, dport=443, flags=flags, seq=seq)
        return bytes(Ether() / IP(src=client, dst=server) / tcp / Raw(data))

    frames = [frame("S", ISN - 1)] + [frame("A", s, d) for s, d in segments(STREAM, ISN)[1:]]
    pipe = FlowPipeline()
    assert pipe.names is not None
    most = 0
    for at in range(0, len(frames), 4):
        part = frames[at : at + 4]
        data = np.frombuffer(b"".join(part), np.uint8)
        size = np.array([len(f) for f in part], np.int64)
        offset = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.int64)
        ts = np.arange(at, at + len(part), dtype=np.int64) * 1000 + 1
        pipe.feed(RecordBatch(data, offset, size, size.copy(), ts, np.ones_like(size), offset))
        most = max(most, pipe.names.held)
    assert 0 < most <= HELD_BYTES
    assert pipe.names.held == 0
    [flow] = list(pipe.finish().records())
    assert flow.names == () and flow.packets_fwd == len(frames)
