"""Classic libpcap files: both byte orders, micro- and nanosecond magic, and the 24-byte
record headers of the old "modified" (Kuznetzov) format."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

import cython
import numpy as np
from cython.cimports.agent.cdefs import Bytes, Col, prefetch
from cython.cimports.agent.wire.bytes import u32

from agent.capture.chunks import MAX_CAPTURE_RECORD, ChunkReader
from agent.errors import CaptureError, CorruptCapture
from agent.model import CaptureWarning
from agent.wire.batch import RecordBatch

MAGICS = {
    # magic as read little-endian -> (big-endian file, nanosecond stamps, record header length)
    0xA1B2C3D4: (False, False, 16),
    0xD4C3B2A1: (True, False, 16),
    0xA1B23C4D: (False, True, 16),
    0x4D3CB2A1: (True, True, 16),
    0xA1B2CD34: (False, False, 24),
    0x34CDB2A1: (True, False, 24),
}
LARGEST_PACKET = 262144
"""libpcap's and Wireshark's largest record; a longer one means a corrupt header (unless the
file's snaplen says more, up to what the reading window holds)."""
BATCH_RECORDS = 65536
PREFETCH_BYTES = cython.declare(cython.Py_ssize_t, 4096)
"""How far ahead of the record it reads the walker asks for the file's bytes (cache lines)."""

NEED_MORE = cython.declare(cython.int, 0)
FULL = cython.declare(cython.int, 1)
BAD_LENGTH = cython.declare(cython.int, 2)




@cython.ccall
def walk_records(
    buf: Bytes, pos: cython.Py_ssize_t, end: cython.Py_ssize_t, big: cython.bint,
    nano: cython.bint, hdr_len: cython.Py_ssize_t, max_caplen: cython.longlong,
    off: Col, caplen: Col, origlen: Col, ts: Col, where: Col, n: cython.Py_ssize_t,
) -> tuple[cython.Py_ssize_t, cython.Py_ssize_t, cython.int]:  # fmt: skip
    """Index the whole records in `buf[pos:end]` into the output columns from row `n` on."""
    frac_ns: cython.longlong = 1 if nano else 1000
    cap: cython.longlong
    ahead: cython.Py_ssize_t = pos
    with cython.nogil:
        while n < off.shape[0]:
            while ahead < end and ahead < pos + PREFETCH_BYTES:  # the headers ahead, wherever
                prefetch(cython.address(buf[ahead]))  # they fall: not in cache otherwise
                ahead += 64
            if pos + hdr_len > end:
                return pos, n, NEED_MORE
            cap = u32(buf, pos + 8, big)
            if cap > max_caplen:
                return pos, n, BAD_LENGTH
            if pos + hdr_len + cap > end:
                return pos, n, NEED_MORE
            ts[n] = u32(buf, pos, big) * 1_000_000_000 + u32(buf, pos + 4, big) * frac_ns
            caplen[n] = cap
            origlen[n] = u32(buf, pos + 12, big)
            where[n] = pos
            off[n] = pos + hdr_len
            pos += hdr_len + cap
            n += 1
    return pos, n, FULL


class PcapReader:
    """Streams a classic pcap file in batches; `warnings` collects damage that did not stop it."""

    def __init__(self, path: str, stream: BinaryIO, head: bytes, window: int | None = None) -> None:
        if len(head) < 24:
            raise CaptureError(path, len(head), "file ends inside the pcap file header")
        self.path, self.stream, self.window = path, stream, window
        self.big, self.nano, self.hdr_len = MAGICS[struct.unpack_from("<I", head)[0]]
        end = ">" if self.big else "<"
        _maj, _min, _zone, _sig, self.snaplen, link = struct.unpack_from(end + "HHiIII", head, 4)
        self.linktype = link & 0x03FF_FFFF  # the upper bits carry the FCS length
        self.warnings: list[CaptureWarning] = []
        self.drops: int | None = None
        """Classic pcap records no drop counters."""

    def batches(self) -> Iterator[RecordBatch]:
        with ChunkReader(self.path, self.stream, 24, self.window) as chunk:
            yield from self._walk(chunk)

    def _walk(self, chunk: ChunkReader) -> Iterator[RecordBatch]:
        chunk.refill(0)
        cols = [np.empty(BATCH_RECORDS, np.int64) for _ in range(5)]
        off, caplen, origlen, ts, where = cols
        max_caplen = min(max(self.snaplen, LARGEST_PACKET), MAX_CAPTURE_RECORD - self.hdr_len)
        pos = 0
        while True:
            pos, n, status = walk_records(
                chunk.buf, pos, chunk.n, self.big, self.nano, self.hdr_len, max_caplen, *cols, 0
            )
            if n:
                links = np.full(n, self.linktype, np.int64)
                yield RecordBatch(
                    chunk.buf,
                    off[:n],
                    caplen[:n],
                    origlen[:n],
                    ts[:n],
                    links,
                    where[:n] + chunk.base,
                )
            if status == BAD_LENGTH:
                cap = struct.unpack_from(">I" if self.big else "<I", chunk.buf.data, pos + 8)[0]
                raise CorruptCapture(
                    self.path,
                    chunk.base + pos,
                    f"record length {cap} is larger than the snaplen {self.snaplen} allows",
                )
            if status == NEED_MORE:
                if chunk.eof:
                    if pos < chunk.n:
                        self.warnings.append(CaptureWarning(
                            self.path, chunk.base + pos,
                            f"last record cut off ({chunk.n - pos} of its bytes are in the file)",
                        ))  # fmt: skip
                    return
                chunk.refill(pos)
                pos = 0
