"""pcap and pcapng files, written.

Classic pcap with microsecond or nanosecond timestamps, in either byte order, and Kuznetzov's
modified pcap (24-byte record headers); pcapng sections (SHB), interfaces (IDB with if_tsresol and
if_tsoffset), Enhanced, Simple and obsolete Packet Blocks, with options, in either byte order.
`e` is a struct byte-order prefix: "<" little-endian, ">" big-endian.

Why numpy: the bench writes millions of records, so each record layout is a dtype and records are
laid out column-wise (`pcap_records`, `epb_records`); one packet is a column of one, so a file of
a few packets is written by the same code as the bench's.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]
Order = Literal["<", ">"]

SEC = 1_000_000_000
SNAPLEN = 262144
LINKTYPE_ETHERNET = 1
PCAP_USEC, PCAP_NSEC, PCAP_MODIFIED = 0xA1B2C3D4, 0xA1B23C4D, 0xA1B2CD34
SHB, IDB, PB, SPB, EPB = 0x0A0D0D0A, 1, 2, 3, 6
BYTE_ORDER_MAGIC = 0x1A2B3C4D
OPT_END, OPT_COMMENT = 0, 1
SHB_HARDWARE, SHB_OS, SHB_USERAPPL = 2, 3, 4
IF_NAME, IF_DESCRIPTION, IF_TSRESOL, IF_TSOFFSET = 2, 3, 9, 14
COPY_GROUP = 8192
"""Slices copied per numpy step: index arrays stay near 100 MB at most."""


class Packet(NamedTuple):
    """A frame and when it was seen."""

    ts_ns: int
    frame: bytes
    iface: int = 0
    """Its pcapng interface (an index into the file's interfaces)."""
    origlen: int | None = None
    """Its length on the wire, when longer than the frame kept."""


# --- laying out records column-wise ----------------------------------------------------------


def copy_slices(dst: U8, dst_at: I64, src: U8, src_at: I64, length: I64) -> None:
    """dst[dst_at[i] : +length[i]] = src[src_at[i] : +length[i]] for every i, a group of slices
    at a time as one fancy-indexed copy."""
    for lo in range(0, length.shape[0], COPY_GROUP):
        n = length[lo : lo + COPY_GROUP]
        total = int(n.sum())
        if total == 0:
            continue
        within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(n) - n, n)
        to = np.repeat(dst_at[lo : lo + COPY_GROUP], n) + within
        dst[to] = src[np.repeat(src_at[lo : lo + COPY_GROUP], n) + within]


def copy_rows(dst: U8, dst_at: I64, rows: U8) -> None:
    """Copy each row of the 2-D `rows` to its offset in `dst`."""
    n, width = rows.shape
    steps = np.arange(n, dtype=np.int64) * width
    copy_slices(dst, dst_at.astype(np.int64), rows.reshape(-1), steps, np.full(n, width))


def as_rows(records: npt.NDArray[Any]) -> U8:
    """A structured array's records as rows of bytes."""
    return records.view(np.uint8).reshape(len(records), records.dtype.itemsize)


def lay_out(head: U8, frames: U8, at: I64, length: I64, tail: U8 | None, size: I64) -> U8:
    """Records of `size` bytes each: a `head` row, frames[at : +length], zeros, a `tail` row."""
    rec = np.concatenate([[0], np.cumsum(size)]).astype(np.int64)
    out = np.zeros(int(rec[-1]), dtype=np.uint8)
    copy_rows(out, rec[:-1], head)
    copy_slices(out, rec[:-1] + head.shape[1], frames, at, length)
    if tail is not None:
        copy_rows(out, rec[1:] - tail.shape[1], tail)
    return out


def columns(frames: Sequence[bytes]) -> tuple[U8, I64, I64]:
    """Frames as one buffer, each one's offset in it and its length."""
    length = np.array([len(f) for f in frames], dtype=np.int64)
    at = (np.cumsum(length) - length).astype(np.int64)
    return np.frombuffer(b"".join(frames) or b"\0", dtype=np.uint8), at, length


# --- classic pcap ----------------------------------------------------------------------------


def pcap_header(
    linktype: int = LINKTYPE_ETHERNET,
    snaplen: int = SNAPLEN,
    *,
    nano: bool = False,
    modified: bool = False,
    e: Order = "<",
) -> bytes:
    magic = PCAP_MODIFIED if modified else PCAP_NSEC if nano else PCAP_USEC
    return struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)


def pcap_record_dtype(modified: bool = False, e: Order = "<") -> np.dtype[Any]:
    fields = [("sec", e + "u4"), ("frac", e + "u4"), ("caplen", e + "u4"), ("origlen", e + "u4")]
    if modified:  # Kuznetzov's: ifindex, protocol, packet type, padding
        fields += [("ifindex", e + "u4"), ("protocol", e + "u2"), ("pkt_type", "u1"), ("pad", "u1")]
    return np.dtype(fields)


def pcap_records(
    ts_ns: I64,
    frames: U8,
    at: I64,
    caplen: I64,
    origlen: I64 | None = None,
    *,
    nano: bool = False,
    modified: bool = False,
    e: Order = "<",
) -> U8:
    """Records of frames[at : +caplen], each its header then its frame; sub-microsecond digits
    are dropped unless `nano`. A modified record says ifindex 2, IPv4."""
    dt = pcap_record_dtype(modified, e)
    head = np.zeros(len(caplen), dtype=dt)
    sec, sub = np.divmod(ts_ns, SEC)
    head["sec"], head["frac"] = sec, sub if nano else sub // 1000
    head["caplen"], head["origlen"] = caplen, caplen if origlen is None else origlen
    if modified:
        head["ifindex"], head["protocol"] = 2, 0x0800
    return lay_out(as_rows(head), frames, at, caplen, None, dt.itemsize + caplen)


def pcap_file(
    packets: Iterable[Packet],
    linktype: int = LINKTYPE_ETHERNET,
    snaplen: int = SNAPLEN,
    *,
    nano: bool = False,
    modified: bool = False,
    e: Order = "<",
) -> bytes:
    """A classic pcap file of `packets`, in their order."""
    ps = list(packets)
    frames, at, caplen = columns([p.frame for p in ps])
    ts = np.array([p.ts_ns for p in ps], dtype=np.int64)
    orig = np.array([len(p.frame) if p.origlen is None else p.origlen for p in ps], np.int64)
    records = pcap_records(ts, frames, at, caplen, orig, nano=nano, modified=modified, e=e)
    return pcap_header(linktype, snaplen, nano=nano, modified=modified, e=e) + records.tobytes()


# --- pcapng ----------------------------------------------------------------------------------


def option(code: int, value: bytes, e: Order = "<") -> bytes:
    return struct.pack(e + "HH", code, len(value)) + value + bytes(-len(value) % 4)


def options(pairs: Iterable[tuple[int, bytes]], e: Order = "<") -> bytes:
    """Options, then opt_endofopt; nothing when there are none."""
    body = b"".join(option(code, value, e) for code, value in pairs)
    return body + option(OPT_END, b"", e) if body else b""


def blocks(
    btype: int,
    head: U8,
    bodies: U8,
    at: I64,
    length: I64,
    trailer: bytes = b"",
    e: Order = "<",
) -> U8:
    """Blocks of one type, column-wise: type and total length, a `head` row, bodies[at :
    +length] padded to 32 bits, the `trailer` (options), the total length again."""
    n = len(length)
    total = 12 + head.shape[1] + length + (-length % 4) + len(trailer)
    front = np.zeros(n, dtype=np.dtype([("type", e + "u4"), ("total", e + "u4")]))
    front["type"], front["total"] = btype, total
    back = np.zeros(n, dtype=np.dtype([("total", e + "u4")]))
    back["total"] = total
    extra = np.broadcast_to(np.frombuffer(trailer, dtype=np.uint8), (n, len(trailer)))
    tail = np.concatenate([extra, as_rows(back)], axis=1)
    return lay_out(np.concatenate([as_rows(front), head], axis=1), bodies, at, length, tail, total)


def block(btype: int, body: bytes, e: Order = "<") -> bytes:
    """One block of any type around `body`."""
    data, at, length = columns([body])
    return blocks(btype, np.zeros((1, 0), dtype=np.uint8), data, at, length, e=e).tobytes()


def section(
    *,
    hardware: str | None = None,
    os: str | None = None,
    application: str | None = None,
    e: Order = "<",
) -> bytes:
    """A Section Header Block of unknown length, with the options given."""
    named = ((SHB_HARDWARE, hardware), (SHB_OS, os), (SHB_USERAPPL, application))
    opts = options(((code, text.encode()) for code, text in named if text), e)
    return block(SHB, struct.pack(e + "IHHq", BYTE_ORDER_MAGIC, 1, 0, -1) + opts, e)


def to_units(ns: int, tsresol: int) -> int:
    """ns in if_tsresol units (10^-r s, or 2^-r s when its high bit is set), floored."""
    r = tsresol & 0x7F
    return ns * (1 << r) // SEC if tsresol & 0x80 else ns * 10**r // SEC


@dataclass(frozen=True)
class Interface:
    """An Interface Description Block: link type, snaplen, name and clock."""

    linktype: int = LINKTYPE_ETHERNET
    snaplen: int = SNAPLEN
    name: str | None = "eth0"
    description: str | None = None
    tsresol: int | None = None
    """if_tsresol's byte (9: nanoseconds, 0x80 | k: 2^-k s); None writes none: microseconds."""
    tsoffset: int = 0
    """if_tsoffset, in seconds added to every stored time; 0 writes none."""

    def block(self, e: Order = "<") -> bytes:
        texts = ((IF_NAME, self.name), (IF_DESCRIPTION, self.description))
        pairs = [(code, text.encode()) for code, text in texts if text]
        if self.tsresol is not None:
            pairs.append((IF_TSRESOL, bytes([self.tsresol])))
        if self.tsoffset:
            pairs.append((IF_TSOFFSET, struct.pack(e + "q", self.tsoffset)))
        head = struct.pack(e + "HHI", self.linktype, 0, self.snaplen)
        return block(IDB, head + options(pairs, e), e)

    def units(self, ts_ns: int) -> int:
        """A time as this interface stores it."""
        return to_units(ts_ns - self.tsoffset * SEC, 6 if self.tsresol is None else self.tsresol)


def epb_records(
    iface: I64 | int,
    units: npt.NDArray[np.uint64] | I64,
    frames: U8,
    at: I64,
    caplen: I64,
    origlen: I64 | None = None,
    *,
    trailer: bytes = b"",
    e: Order = "<",
) -> U8:
    """Enhanced Packet Blocks of frames[at : +caplen], at times in their interface's units, each
    with the same options (`trailer`, from `options`)."""
    fields = ("iface", "ts_high", "ts_low", "caplen", "origlen")
    head = np.zeros(len(caplen), dtype=np.dtype([(f, e + "u4") for f in fields]))
    head["iface"], head["ts_high"], head["ts_low"] = iface, units >> 32, units & 0xFFFF_FFFF
    head["caplen"], head["origlen"] = caplen, caplen if origlen is None else origlen
    return blocks(EPB, as_rows(head), frames, at, caplen, trailer, e)


def epb(
    iface: int,
    units: int,
    frame: bytes,
    origlen: int | None = None,
    *,
    trailer: bytes = b"",
    e: Order = "<",
) -> bytes:
    """One Enhanced Packet Block."""
    data, at, caplen = columns([frame])
    orig = None if origlen is None else np.array([origlen], dtype=np.int64)
    when = np.array([units], dtype=np.uint64)
    return epb_records(iface, when, data, at, caplen, orig, trailer=trailer, e=e).tobytes()


def pb(iface: int, units: int, frame: bytes, e: Order = "<") -> bytes:
    """The obsolete Packet Block: a 16-bit interface id and a drops count (0)."""
    head = struct.pack(e + "HHIIII", iface, 0, units >> 32, units & 0xFFFF_FFFF, len(frame),
                       len(frame))  # fmt: skip
    return block(PB, head + frame, e)


def spb(frame: bytes, e: Order = "<") -> bytes:
    """A Simple Packet Block: no interface id, no time."""
    return block(SPB, struct.pack(e + "I", len(frame)) + frame, e)


def pcapng_file(
    packets: Iterable[Packet],
    interfaces: Sequence[Interface] = (Interface(),),
    *,
    hardware: str | None = None,
    os: str | None = None,
    application: str | None = None,
    e: Order = "<",
) -> bytes:
    """One section: its interfaces, then an EPB per packet, in their order."""
    ps = list(packets)
    frames, at, caplen = columns([p.frame for p in ps])
    iface = np.array([p.iface for p in ps], dtype=np.int64)
    units = np.array([interfaces[p.iface].units(p.ts_ns) for p in ps], dtype=np.uint64)
    orig = np.array([len(p.frame) if p.origlen is None else p.origlen for p in ps], np.int64)
    head = section(hardware=hardware, os=os, application=application, e=e)
    head += b"".join(i.block(e) for i in interfaces)
    return head + epb_records(iface, units, frames, at, caplen, orig, e=e).tobytes()
