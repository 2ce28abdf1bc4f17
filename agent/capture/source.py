"""Opening a capture: its content, not its name, picks the reader; gzip, xz and zstd are seen
through."""

from __future__ import annotations

import struct
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from io import BufferedReader
from typing import BinaryIO, Protocol, cast

from agent.capture.compressed import DAMAGE, decompressed
from agent.capture.pcap import MAGICS, PcapReader
from agent.capture.pcapng import SHB, PcapngReader
from agent.errors import CaptureError, InputError
from agent.files import Digest, open_input, while_unchanged
from agent.model import CaptureWarning
from agent.wire.batch import RecordBatch


class PacketSource(Protocol):
    """Anything that yields record batches: a capture file here, a live socket in the daemon."""

    path: str
    warnings: list[CaptureWarning]

    @property
    def drops(self) -> int | None:
        """Packets the recorder (a pcapng's statistics, the live ring) says it dropped; None
        when it does not say."""

    def batches(self) -> Iterator[RecordBatch]: ...


PROBE_BYTES = 1 << 18
"""The reading window of a look at a capture's first batch (`first_timestamp`, telling a
capture of flow exports): the default window reads 8 MiB, and 8 more ahead, to show a few."""


@contextmanager
def open_capture(
    path: str, digest: Digest | None = None, window: int | None = None
) -> Iterator[PacketSource]:
    """Open `path` (`-`: standard input) as pcap or pcapng, compressed or not; raise the
    project's errors for bad input. `digest` hashes the file's bytes as they are read;
    `window`: bytes read at a time (default CHUNK_BYTES)."""
    raw = open_input(path, digest) if path != "-" else cast(BufferedReader, sys.stdin.buffer)
    with raw:
        stream, compression = decompressed(cast(BinaryIO, raw), raw.peek(6)[:6])
        try:
            yield _reader(path, stream, window)
        except BrokenPipeError:
            raise  # the reader of our output went away (`| head`): not a fault of the capture
        except DAMAGE as err:
            if not compression:
                raise InputError(f"{path}: read failed: {err}") from err
            raise CaptureError(path, _position(stream),
                               f"{compression} stream is damaged: {err}") from err  # fmt: skip


def _position(stream: BinaryIO) -> int:
    """Where a damaged decompressor stopped, in uncompressed bytes (0 if it cannot say)."""
    try:
        return stream.tell()
    except DAMAGE:
        return 0


def _reader(path: str, stream: BinaryIO, window: int | None) -> PacketSource:
    head = _peek(stream, 24)
    if not head:
        raise CaptureError(path, 0, "empty file (0 bytes): not a capture")
    if len(head) < 4:
        raise CaptureError(path, 0, f"file is only {len(head)} bytes long: not a capture")
    magic = struct.unpack_from("<I", head)[0]
    if magic in MAGICS:
        stream.read(24)
        return PcapReader(path, stream, head, window)
    if struct.unpack_from(">I", head)[0] == SHB:
        return PcapngReader(path, stream, head, window)
    reason = f"unknown magic {head[:4].hex()} (not pcap or pcapng, nor a flow log)"
    raise CaptureError(path, 0, reason)


def _peek(stream: BinaryIO, n: int) -> bytes:
    peek = getattr(stream, "peek", None)
    data = peek(n)[:n] if peek else b""
    return bytes(data)


@while_unchanged
def first_timestamp(path: str) -> int | None:
    """The earliest timestamp in a capture's first batch (ns), None when it has no records or
    cannot be read: enough to put captures in time order, and to date the traffic before
    judging it (the range versions in force then)."""
    try:
        with open_capture(path, window=PROBE_BYTES) as source:
            for batch in source.batches():
                if batch.size:
                    return int(batch.ts_ns.min())
    except (CaptureError, InputError):
        return None
    return None
