"""The first client bytes of a TCP stream, in order: what the name parsers read.

Why a buffer at all: a ClientHello, a request head or a DNS-over-TCP message may span segments,
and segments come out of order. Only the first FIRST_BYTES of a stream are kept, and never more
than HELD_BYTES in all, whatever the segments: a stream whose first segment never comes (lost
before the capture, or a capture that began mid-stream) costs a bounded buffer, not its length.
"""

from __future__ import annotations

FIRST_BYTES = 16 * 1024
"""What is kept of a client's stream while waiting for a whole ClientHello or request head."""
HELD_BYTES = 2 * FIRST_BYTES
"""The most one stream's buffer holds: its window, plus retransmissions that overlap in it."""
SEQ_SPACE = 1 << 32


class TcpStart:
    """The first client bytes of a TCP flow, in sequence order, whatever order segments came in
    (retransmitted bytes land on themselves)."""

    def __init__(self, start: int | None = None) -> None:
        self.known = start is not None
        """The stream's first sequence number is known (the SYN was seen): nothing before it."""
        self.base: int | None = start
        self.segments: dict[int, bytes] = {}
        self.held = 0
        """Bytes kept in `segments`: at most HELD_BYTES."""
        self.stalled = False
        """Bytes past the window came while bytes before them are still missing: the start
        will most likely never be read whole, so the reader may give up on it."""

    def add(self, seq: int, data: bytes) -> bytes:
        """Add a segment; -> the contiguous bytes from the stream's start (or from the earliest
        segment seen, when the capture began after the SYN)."""
        if self.known and self.base is not None:
            before = (self.base - seq) % SEQ_SPACE
            if 0 < before < SEQ_SPACE >> 1:  # starts before the first byte: only its tail is new
                seq, data = self.base, data[before:]
        elif self.base is None or (seq - self.base) % SEQ_SPACE > SEQ_SPACE >> 1:  # earlier
            self.base = seq
            self._drop_past(seq)
        offset = (seq - self.base) % SEQ_SPACE
        if offset >= FIRST_BYTES:
            self.stalled = True
        else:
            self._keep(seq, data[: FIRST_BYTES - offset])
        return self._contiguous()

    def _keep(self, seq: int, data: bytes) -> None:
        old = len(self.segments.get(seq, b""))
        if len(data) <= old or self.held - old + len(data) > HELD_BYTES:
            return  # nothing new, or over the bound: a flood of overlaps is not kept
        self.segments[seq] = data
        self.held += len(data) - old

    def _drop_past(self, base: int) -> None:
        """The start moved back: segments now past the window go."""
        for seq in [s for s in self.segments if (s - base) % SEQ_SPACE >= FIRST_BYTES]:
            self.held -= len(self.segments.pop(seq))
        for seq, data in list(self.segments.items()):
            room = FIRST_BYTES - (seq - base) % SEQ_SPACE
            if len(data) > room:
                self.segments[seq] = data[:room]
                self.held -= len(data) - room

    def _contiguous(self) -> bytes:
        base = self.base or 0
        out = bytearray()
        for s in sorted(self.segments, key=lambda s: (s - base) % SEQ_SPACE):
            offset = (s - base) % SEQ_SPACE
            if offset > len(out):
                break  # a gap: wait for the bytes in it
            out += self.segments[s][len(out) - offset :]
        return bytes(out[:FIRST_BYTES])
