"""pcapng files: every section in its own byte order, every interface with its own link type and
clock, enhanced/simple/obsolete packet blocks; all other blocks are skipped by their length."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import cython
import numpy as np
from cython.cimports.agent.cdefs import Bytes, Col
from cython.cimports.agent.wire.bytes import u16, u32

from agent.capture.chunks import MAX_CAPTURE_RECORD, ChunkReader
from agent.errors import CaptureError, CorruptCapture
from agent.model import CaptureWarning
from agent.wire.batch import I64, RecordBatch

SHB, IDB, PB, SPB, ISB, EPB = 0x0A0D0D0A, 1, 2, 3, 5, 6
ISB_IFDROP, ISB_OSDROP = 5, 7
"""Interface Statistics Block options: packets dropped by the interface, and by the OS."""
BYTE_ORDER_MAGIC = 0x1A2B3C4D
MAX_BLOCK = MAX_CAPTURE_RECORD
"""Larger than any sane block; a longer length field means the file is corrupt."""
BATCH_RECORDS = 65536
NO_TS = -1
MAX_DECIMAL_RESOL, MAX_BINARY_RESOL = 19, 0x80 | 63
MAX_TSOFFSET = 4_000_000_000
"""Seconds; keeps nanosecond times inside 64 bits."""

NEED_MORE = cython.declare(cython.int, 0)
FULL = cython.declare(cython.int, 1)
OTHER_BLOCK = cython.declare(cython.int, 2)
BAD_LENGTH = cython.declare(cython.int, 3)
BAD_TRAILER = cython.declare(cython.int, 4)
BAD_CAPLEN = cython.declare(cython.int, 5)
"""`walk_blocks` outcomes."""




@cython.ccall
def walk_blocks(
    buf: Bytes, pos: cython.Py_ssize_t, end: cython.Py_ssize_t, big: cython.bint,
    iface_base: cython.longlong, n_ifaces: cython.longlong, snaplen0: cython.longlong,
    off: Col, caplen: Col, origlen: Col, ts: Col, iface: Col, where: Col, n: cython.Py_ssize_t,
) -> tuple[cython.Py_ssize_t, cython.Py_ssize_t, cython.int]:  # fmt: skip
    """Index packet blocks from `buf[pos:end]`; stop at any other block for the caller to read."""
    shb: cython.longlong = SHB  # the module's constants, as C values for the loop
    epb: cython.longlong = EPB
    pb: cython.longlong = PB
    spb: cython.longlong = SPB
    max_block: cython.longlong = MAX_BLOCK
    no_ts: cython.longlong = NO_TS
    btype: cython.longlong
    blen: cython.longlong
    cap: cython.longlong
    local: cython.longlong
    wire: cython.longlong
    with cython.nogil:
        while n < off.shape[0]:
            if pos + 12 > end:
                return pos, n, NEED_MORE
            btype = u32(buf, pos, big)
            if btype == shb:
                return pos, n, OTHER_BLOCK
            blen = u32(buf, pos + 4, big)
            if blen < 12 or blen % 4 or blen > max_block:
                return pos, n, BAD_LENGTH
            if pos + blen > end:
                return pos, n, NEED_MORE
            if u32(buf, pos + blen - 4, big) != blen:
                return pos, n, BAD_TRAILER
            if btype == epb or btype == pb:
                if blen < 32:
                    return pos, n, BAD_LENGTH
                cap = u32(buf, pos + 20, big)
                if 28 + cap + 4 > blen:
                    return pos, n, BAD_CAPLEN
                local = u32(buf, pos + 8, big) if btype == epb else u16(buf, pos + 8, big)
                ts[n] = (u32(buf, pos + 12, big) << 32) | u32(buf, pos + 16, big)
                caplen[n] = cap
                origlen[n] = u32(buf, pos + 24, big)
                off[n] = pos + 28
            elif btype == spb:
                if blen < 16:
                    return pos, n, BAD_LENGTH
                local = 0
                wire = u32(buf, pos + 8, big)
                cap = min(wire, blen - 16)
                caplen[n] = min(cap, snaplen0) if snaplen0 > 0 else cap
                origlen[n] = wire
                ts[n] = no_ts
                off[n] = pos + 12
            else:
                return pos, n, OTHER_BLOCK
            iface[n] = iface_base + local if local < n_ifaces else -1
            where[n] = pos
            pos += blen
            n += 1
    return pos, n, FULL


@dataclass(frozen=True, slots=True)
class Interface:
    """An IDB: its link type, snaplen and clock (`if_tsresol`, `if_tsoffset`)."""

    linktype: int
    snaplen: int
    tsresol: int = 6
    tsoffset: int = 0

    def to_ns(self, raw: I64) -> I64:
        """Timestamp units since `tsoffset` -> nanoseconds since the epoch, in integers."""
        u = raw.astype(np.uint64)
        if self.tsresol & 0x80:  # a power of two
            bits = self.tsresol & 0x7F
            if bits > 34:  # the fraction times 10^9 would not fit 64 bits
                return np.array(
                    [(x * 10**9 >> bits) + self.tsoffset * 10**9 for x in u.tolist()], np.int64
                )
            shift = np.uint64(bits)
            whole = (u >> shift) * np.uint64(1_000_000_000)
            part = ((u & ((np.uint64(1) << shift) - np.uint64(1))) * np.uint64(10**9)) >> shift
            ns = whole + part
        elif self.tsresol <= 9:
            ns = u * np.uint64(10 ** (9 - self.tsresol))
        else:
            ns = u // np.uint64(10 ** (self.tsresol - 9))
        return ns.astype(np.int64) + self.tsoffset * 1_000_000_000


def parse_idb(body: bytes, big: bool) -> Interface:
    """IDB body (after type and length) -> Interface, reading only the options we need.

    Raises ValueError (with the reason) for options a clock cannot be made from.
    """
    e = ">" if big else "<"
    if len(body) < 8:
        raise ValueError(f"body of {len(body)} bytes is shorter than its 8 fixed bytes")
    linktype, _reserved, snaplen = struct.unpack_from(e + "HHI", body)
    tsresol, tsoffset, pos = 6, 0, 8
    while pos + 4 <= len(body):
        code, length = struct.unpack_from(e + "HH", body, pos)
        value = body[pos + 4 : pos + 4 + length]
        if code == 0:
            break
        if len(value) < length:
            raise ValueError(f"option {code} runs past the end of the block")
        if code == 9:
            if length != 1:
                raise ValueError(f"if_tsresol has length {length}, not 1")
            tsresol = value[0]
            if tsresol > MAX_BINARY_RESOL if tsresol & 0x80 else tsresol > MAX_DECIMAL_RESOL:
                raise ValueError(f"if_tsresol {tsresol:#x} is finer than any clock")
        elif code == 14:
            if length != 8:
                raise ValueError(f"if_tsoffset has length {length}, not 8")
            tsoffset = struct.unpack(e + "q", value)[0]
            if abs(tsoffset) > MAX_TSOFFSET:
                raise ValueError(f"if_tsoffset {tsoffset} s is out of range")
        pos += 4 + (length + 3) // 4 * 4
    return Interface(linktype, snaplen, tsresol, tsoffset)


def parse_isb(body: bytes, big: bool) -> tuple[int, int | None]:
    """ISB body -> (interface id in its section, ifdrop + osdrop or None if neither is given).
    A damaged statistics block only loses its counters: it carries no packets."""
    e = ">" if big else "<"
    if len(body) < 12:
        return 0, None
    local = struct.unpack_from(e + "I", body)[0]
    pos, found = 12, None
    while pos + 4 <= len(body):
        code, length = struct.unpack_from(e + "HH", body, pos)
        if code == 0:
            break
        if code in (ISB_IFDROP, ISB_OSDROP) and length == 8 and pos + 12 <= len(body):
            found = (found or 0) + struct.unpack_from(e + "Q", body, pos + 4)[0]
        pos += 4 + (length + 3) // 4 * 4
    return local, found


class PcapngReader:
    """Streams a pcapng file in batches; `warnings` collects damage that did not stop it."""

    def __init__(self, path: str, stream: BinaryIO, head: bytes, window: int | None = None) -> None:
        self.path, self.stream, self.window = path, stream, window
        self.big = False
        self.interfaces: list[Interface] = []
        self.section_base = 0
        self.warnings: list[CaptureWarning] = []
        self._last_ts = 0
        self._sections = 0
        self._drops: dict[int, int] = {}
        """Interface (index over all sections) -> the drops its last statistics block counted."""

    @property
    def drops(self) -> int | None:
        """Packets the recorder said it dropped (ISB isb_ifdrop + isb_osdrop, the last block of
        each interface: the counters run from the start); None when no block said."""
        return sum(self._drops.values()) if self._drops else None

    def batches(self) -> Iterator[RecordBatch]:
        with ChunkReader(self.path, self.stream, 0, self.window) as chunk:
            yield from self._walk(chunk)

    def _walk(self, chunk: ChunkReader) -> Iterator[RecordBatch]:
        chunk.refill(0)
        cols = [np.empty(BATCH_RECORDS, np.int64) for _ in range(6)]
        pos = n = 0
        while True:
            n_local = len(self.interfaces) - self.section_base
            snaplen0 = self.interfaces[self.section_base].snaplen if n_local else 0
            pos, n, status = walk_blocks(
                chunk.buf, pos, chunk.n, self.big, self.section_base, n_local, snaplen0, *cols, n
            )
            if status == OTHER_BLOCK:
                try:
                    after = self._read_block(chunk, pos)
                except CaptureError:
                    if n:  # the records before the damage are kept
                        yield self._batch(chunk, cols, n)
                    raise
                if after is not None:
                    pos = after
                    continue
                status = NEED_MORE  # the block is not all in the window yet
            if n:
                yield self._batch(chunk, cols, n)
                n = 0
            if status == NEED_MORE:
                if chunk.eof:
                    if pos < chunk.n:
                        self._cut_off(chunk, pos)
                    return
                chunk.refill(pos)
                pos = 0
            elif status != FULL:
                raise self._corrupt(chunk, pos, status)

    def _read_block(self, chunk: ChunkReader, pos: int) -> int | None:
        """Read the non-packet block at `pos`; -> the next position, None if it is incomplete."""
        buf, end = chunk.buf, chunk.n
        if pos + 12 > end:
            return None
        big = self.big
        btype = struct.unpack_from(">I", buf.data, pos)[0]
        if btype == SHB:
            magic = struct.unpack_from("<I", buf.data, pos + 8)[0]
            if magic not in (BYTE_ORDER_MAGIC, 0x4D3C2B1A):
                raise CorruptCapture(
                    self.path, chunk.base + pos, f"bad section byte-order magic {magic:08x}"
                )
            big = magic != BYTE_ORDER_MAGIC
        e = ">" if big else "<"
        btype, blen = struct.unpack_from(e + "II", buf.data, pos)
        if blen < 12 or blen % 4 or blen > MAX_BLOCK or (btype == SHB and blen < 28):
            raise self._corrupt(chunk, pos, BAD_LENGTH, big)
        if pos + blen > end:
            return None
        if struct.unpack_from(e + "I", buf.data, pos + blen - 4)[0] != blen:
            raise self._corrupt(chunk, pos, BAD_TRAILER, big)
        if btype == SHB:
            self.big, self.section_base = big, len(self.interfaces)
            self._sections += 1
        elif btype == IDB:
            try:
                self.interfaces.append(parse_idb(bytes(buf[pos + 8 : pos + blen - 4]), big))
            except ValueError as err:
                raise CorruptCapture(
                    self.path, chunk.base + pos, f"interface description block: {err}"
                ) from err
        elif btype == ISB:
            local, drops = parse_isb(bytes(buf[pos + 8 : pos + blen - 4]), big)
            if drops is not None:
                self._drops[self.section_base + local] = drops
        return int(pos + blen)

    def _batch(self, chunk: ChunkReader, cols: list[I64], n: int) -> RecordBatch:
        off, caplen, origlen, raw, iface, where = (c[:n] for c in cols)
        linktype = np.full(n, -1, np.int64)
        ts = np.full(n, NO_TS, np.int64)
        for i in np.flatnonzero(np.bincount(iface[iface >= 0])):  # np.unique imports numpy.ma
            this = (iface == i) & (raw != NO_TS)
            spec = self.interfaces[int(i)]
            linktype[iface == i] = spec.linktype
            ts[this] = spec.to_ns(raw[this])
        missing = ts == NO_TS
        if missing.any():  # simple packet blocks carry no time: they take the one before them
            idx = np.where(missing, 0, np.arange(n))
            np.maximum.accumulate(idx, out=idx)
            ts = np.where(missing & (idx == 0) & missing[0], self._last_ts, ts[idx])
        self._last_ts = int(ts[-1])
        return RecordBatch(chunk.buf, off, caplen, origlen, ts, linktype, where + chunk.base)

    def _cut_off(self, chunk: ChunkReader, pos: int) -> None:
        have = chunk.n - pos
        if not self._sections:
            raise CaptureError(
                self.path, chunk.base + pos, "file ends inside its first section header"
            )
        self.warnings.append(CaptureWarning(
            self.path, chunk.base + pos, f"last block cut off ({have} of its bytes are in the file)"
        ))  # fmt: skip

    def _corrupt(
        self, chunk: ChunkReader, pos: int, status: int, big: bool | None = None
    ) -> CorruptCapture:
        e = ">" if (self.big if big is None else big) else "<"
        btype, blen = struct.unpack_from(e + "II", chunk.buf.data, pos)
        reason = {
            BAD_LENGTH: f"block type {btype:#x} has an impossible length {blen}",
            BAD_TRAILER: f"block type {btype:#x} of length {blen} does not end with its length",
            BAD_CAPLEN: f"packet block of length {blen} claims more captured bytes than it holds",
        }[status]
        return CorruptCapture(self.path, chunk.base + pos, reason)
