"""The hash chain: what a row is, how it is hashed, and how a run of rows is checked.

Pure: no SQLite here, so the rules that make tampering visible can be read (and tested) alone.
Each row's hash covers the hash of the row before it and every column of its own:

    hash(n) = sha256(hash(n-1) || seq || ts_ns || end_ns || len(kind) || kind || body)

with seq and the times as signed 64-bit big-endian, len(kind) as 32-bit, and the body as
canonical JSON (sorted keys, no spaces, ASCII). Row 1 follows `GENESIS`; after a retention
cut, the first row left follows the hash that the newest `anchor` recorded for the row before.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = bytes(32)
"""The hash that row 1 follows."""
KIND = re.compile(r"[a-z][a-z0-9_]{0,31}")
FIXED = struct.Struct(">qqqI")  # seq, ts_ns, end_ns, len(kind)

RawRow = tuple[int, bytes, int, int, bytes, bytes]
"""(seq, kind, ts_ns, end_ns, body, hash) as stored, text as its bytes: a tampered row may not
even be valid UTF-8, and must still be reported, not crash the check."""


@dataclass(frozen=True, slots=True)
class Entry:
    """A row to append; the journal gives it its `seq` and hash."""

    kind: str
    """`flow`, `heartbeat`, `inputs`, `start`, `stop`, `anchor`, or the caller's own."""
    ts_ns: int
    """When it began (capture time for flows), ns since the epoch: passed in, never read here."""
    body: Mapping[str, Any]
    """Plain JSON-able data; stored as canonical JSON."""
    end_ns: int | None = None
    """When it ended, for rows that span time (flows, heartbeats); `None` means `ts_ns`."""

    def __post_init__(self) -> None:
        if not KIND.fullmatch(self.kind):
            raise ValueError(f"journal kind {self.kind!r}: want [a-z][a-z0-9_]*, at most 32")
        if self.end_ns is not None and self.end_ns < self.ts_ns:
            raise ValueError(f"journal {self.kind} row ends ({self.end_ns}) before {self.ts_ns}")

    @property
    def end(self) -> int:
        return self.ts_ns if self.end_ns is None else self.end_ns


@dataclass(frozen=True, slots=True)
class StoredRow:
    """A row as read back."""

    seq: int
    kind: str
    ts_ns: int
    end_ns: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Head:
    """A row's place in the chain, `seq:hash` as text: copied out of the journal (into a signed
    report, a remote log), it lets `verify` prove later that nothing up to it was rewritten or
    cut off, which the chain alone cannot."""

    seq: int
    hash: str
    """Hex SHA-256."""

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Head:
        seq, sep, digest = text.partition(":")
        if not (sep and seq.isdigit() and re.fullmatch(r"[0-9a-f]{64}", digest)):
            raise ValueError(f"{text!r}: want SEQ:SHA256HEX")
        return cls(int(seq), digest)


@dataclass(frozen=True, slots=True)
class Verification:
    """What `verify` found. On failure `bad_seq` is the first row that cannot be trusted: the
    row that was edited or moved, or the first one missing."""

    ok: bool
    rows: int
    """Rows whose hash checked out."""
    first_seq: int
    last_seq: int
    """The last row checked (0 for an empty journal)."""
    head: str
    """The hash of `last_seq`: copy `Head(last_seq, head)` out to detect a cut tail later."""
    ended_with_stop: bool
    """The last row is a `stop`: the agent shut down cleanly and nothing after that was cut."""
    bad_seq: int | None = None
    reason: str = ""

    def __str__(self) -> str:
        if not self.ok:
            return f"seq {self.bad_seq}: {self.reason} ({self.rows} rows before it verified)"
        end = "ends with a clean stop" if self.ended_with_stop else "no stop at the end"
        span = f"seq {self.first_seq}..{self.last_seq}" if self.rows else "empty"
        return f"ok: {self.rows} rows, {span}, head {self.last_seq}:{self.head}, {end}"


def canonical_body(body: Mapping[str, Any]) -> str:
    """A row body's stored text (not `analysis.document.canonical`, the UTF-8 bytes that reports
    are signed over). One text per value, so the hash depends on the data and not on how it was
    written. ASCII:
    a lone surrogate in a hostile name cannot fail the write, and stored bytes are hashed bytes."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)


def row_hash(prev: bytes, seq: int, kind: bytes, ts_ns: int, end_ns: int, body: bytes) -> bytes:
    fixed = FIXED.pack(seq, ts_ns, end_ns, len(kind))
    return hashlib.sha256(b"".join((prev, fixed, kind, body))).digest()


def check_chain(
    rows: Iterable[RawRow], start_seq: int, start_prev: bytes, known: Iterable[Head] = ()
) -> Verification:
    """Check rows in seq order, expecting the first at `start_seq` after `start_prev`; then check
    that every `known` head still present has its recorded hash, and none lies past the end."""
    want = {h.seq: h.hash for h in known}
    expect, prev, count, kind = start_seq, start_prev, 0, b""

    def fail(seq: int, reason: str) -> Verification:
        return Verification(False, count, start_seq, expect - 1, prev.hex(), False, seq, reason)

    for seq, kind, ts_ns, end_ns, body, digest in rows:
        if seq != expect:
            if seq < expect:
                return fail(expect, f"unexpected row {seq} before the chain's first row")
            return fail(expect, f"missing (the next row is {seq})")
        if row_hash(prev, seq, kind, ts_ns, end_ns, body) != digest:
            return fail(seq, "does not match its hash: edited, moved, or the row before replaced")
        if seq in want and want[seq] != digest.hex():
            return fail(seq, f"is not the row recorded as head {Head(seq, want[seq])}")
        expect, prev, count = seq + 1, digest, count + 1
    beyond = [s for s in want if s >= expect]
    if beyond:
        return fail(expect, f"missing: the journal ends at {expect - 1}, head {min(beyond)} known")
    return Verification(True, count, start_seq, expect - 1, prev.hex(), kind == b"stop")
