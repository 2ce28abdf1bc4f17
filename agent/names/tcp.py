"""The first client bytes of a TCP stream, in order: what the name parsers read.

Why a buffer at all: a ClientHello, a request head or a DNS-over-TCP message may span segments,
and segments come out of order. Only the first FIRST_BYTES of a stream are kept.
"""

from __future__ import annotations

FIRST_BYTES = 16 * 1024
"""What is kept of a client's stream while waiting for a whole ClientHello or request head."""


class TcpStart:
    """The first client bytes of a TCP flow, in sequence order, whatever order segments came in
    (retransmitted bytes land on themselves)."""

    def __init__(self, start: int | None = None) -> None:
        self.known = start is not None
        """The stream's first sequence number is known (the SYN was seen): nothing before it."""
        self.base: int | None = start
        self.segments: dict[int, bytes] = {}

    def add(self, seq: int, data: bytes) -> bytes:
        """Add a segment; -> the contiguous bytes from the stream's start (or from the earliest
        segment seen, when the capture began after the SYN)."""
        if self.known and self.base is not None:
            before = (self.base - seq) % (1 << 32)
            if 0 < before < 1 << 31:  # starts before the first byte: only its tail is new
                seq, data = self.base, data[before:]
        elif self.base is None or (seq - self.base) % (1 << 32) > 1 << 31:  # an earlier one
            self.base = seq
        base = self.base
        self.segments[seq] = data
        out = bytearray()
        for s in sorted(self.segments, key=lambda s: (s - base) % (1 << 32)):
            offset = (s - base) % (1 << 32)
            if offset > len(out):
                break  # a gap: wait for the bytes in it
            out += self.segments[s][len(out) - offset :]
        return bytes(out[:FIRST_BYTES])
