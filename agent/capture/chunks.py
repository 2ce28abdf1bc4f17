"""Fixed-size reading window over a file: memory stays bounded whatever the capture size."""

from __future__ import annotations

import mmap
from typing import BinaryIO

import numpy as np

from agent.capture.batch import U8

CHUNK_BYTES = 8 << 20
"""Small enough that a chunk walked by the record walker is still in cache when it is decoded."""


class ChunkReader:
    """A sliding window: `refill(keep)` moves the unread tail `[keep:]` to the front and reads more.

    The buffer is an anonymous mmap: page-aligned and filled by `readinto` without copies.
    """

    def __init__(self, stream: BinaryIO, start: int, size: int = CHUNK_BYTES) -> None:
        self._stream = stream
        self._map = mmap.mmap(-1, size)
        self.buf: U8 = np.frombuffer(self._map, dtype=np.uint8)
        self.size = size
        self.n = 0
        """Valid bytes in `buf`."""
        self.base = start
        """File offset of `buf[0]`."""
        self.eof = False

    def refill(self, keep: int) -> None:
        """Drop `buf[:keep]`, then read until the buffer is full or the file ends."""
        tail = self.n - keep
        if tail:
            self.buf[:tail] = self.buf[keep : self.n]
        self.base += keep
        self.n = tail
        view = memoryview(self._map)
        while self.n < self.size and not self.eof:
            got = self._stream.readinto(view[self.n :])  # type: ignore[attr-defined]
            if not got:
                self.eof = True
            else:
                self.n += got
        view.release()

    def grow(self, size: int) -> None:
        """Make room for one record larger than the window."""
        bigger = mmap.mmap(-1, size)
        bigger[: self.n] = self._map[: self.n]
        self._map, self.size = bigger, size
        self.buf = np.frombuffer(self._map, dtype=np.uint8)
