"""A fixed-size reading window over a file: memory stays bounded whatever the capture size, and
the next part of the file is read while the current one is decoded."""

from __future__ import annotations

import mmap
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import BinaryIO

import numpy as np

from agent.capture.compressed import DAMAGE, compression_of
from agent.errors import CorruptCapture
from agent.wire.batch import U8

CHUNK_BYTES = 8 << 20
"""Small enough that a chunk walked by the record walker is still in cache when it is decoded."""
MAX_CAPTURE_RECORD = 16 << 20
"""The longest record (pcap) or block (pcapng) the readers accept; the window always holds one."""


class ChunkReader:
    """A window `buf[:n]` onto the stream at file offset `base`, double-buffered.

    While the caller decodes one buffer, a thread reads the next `size` bytes into the other.
    `refill(keep)` then puts the unread tail `[keep:n]` of the window in front of that data
    (each buffer keeps MAX_CAPTURE_RECORD bytes of room before its data for this), so a record
    cut by the end of one read is whole in the next window. Buffers are anonymous mmaps:
    page-aligned, and filled by `readinto` without copies.
    """

    def __init__(self, path: str, stream: BinaryIO, start: int, size: int | None = None) -> None:
        self.path, self._stream, self.size = path, stream, size or CHUNK_BYTES
        self._arrays = [
            np.frombuffer(mmap.mmap(-1, MAX_CAPTURE_RECORD + self.size), np.uint8) for _ in range(2)
        ]
        self._cur = 0
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="capture-read")
        self._next: Future[int] = self._pool.submit(self._read, 0)
        self.buf: U8 = self._arrays[0][:0]
        self.n = 0
        """Valid bytes in `buf`."""
        self.base = start
        """File offset of `buf[0]`."""
        self.eof = False
        """True once the window holds the end of the file."""

    def __enter__(self) -> ChunkReader:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _read(self, which: int) -> int:
        """Fill buffer `which` after its reserve; -> bytes read (fewer than size: end of file)."""
        view = self._arrays[which].data[MAX_CAPTURE_RECORD:]
        got = 0
        while got < self.size:
            n = self._stream.readinto(view[got:])  # type: ignore[attr-defined]
            if not n:
                break
            got += n
        view.release()
        return got

    def refill(self, keep: int) -> None:
        """Drop `buf[:keep]`; the rest, then the bytes read meanwhile, become the new window."""
        tail = self.n - keep
        try:
            got = self._next.result()
        except DAMAGE as err:
            kind = compression_of(self._stream)
            why = f"{kind} stream is damaged" if kind else "read failed"
            raise CorruptCapture(self.path, self.base + self.n, f"{why}: {err}") from err
        other = self._arrays[1 - self._cur] if self.n else self._arrays[self._cur]
        if self.n:
            other[MAX_CAPTURE_RECORD - tail : MAX_CAPTURE_RECORD] = self.buf[keep : self.n]
            self._cur = 1 - self._cur
        self.buf = other[MAX_CAPTURE_RECORD - tail : MAX_CAPTURE_RECORD + got]
        self.base += keep
        self.n = tail + got
        self.eof = got < self.size
        if not self.eof:
            self._next = self._pool.submit(self._read, 1 - self._cur)
