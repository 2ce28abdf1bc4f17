"""Live capture: an AF_PACKET socket with a TPACKET_V3 ring, yielding the same RecordBatch as
the file readers, so the daemon runs the one decode/flow chain on live traffic.

Why a ring and not recv(): the kernel fills whole blocks of packets in shared memory and hands
over a block at a time, so a block of hundreds of packets costs one poll and one compiled walk,
not one system call and one Python object per packet. The kernel counts what it had to drop
when the ring was full (PACKET_STATISTICS); `drops` reports it.

Loopback shows every packet twice to a packet socket (once leaving, once arriving); as libpcap
does, the outgoing copy is dropped there.
"""

from __future__ import annotations

import mmap
import select
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cython
import numpy as np
from cython.cimports.agent.cdefs import Bytes, Col, Pos
from cython.cimports.agent.wire.bytes import u16le, u32le

from agent.capture.bpf import compile_filter
from agent.errors import BadFilter, ConfigError, SetupError
from agent.model import CaptureWarning
from agent.wire.batch import RecordBatch

SOL_PACKET, PACKET_RX_RING, PACKET_VERSION, PACKET_STATISTICS = 263, 5, 10, 6
SO_ATTACH_FILTER = 26
TPACKET_V3 = 2
ETH_P_ALL = 0x0003
TP_STATUS_KERNEL, TP_STATUS_USER = 0, 1
PACKET_OUTGOING = 4
ARPHRD_LOOPBACK = 772
ARPHRD_LINKTYPE = {1: 1, 772: 1, 65534: 101}
"""Interface hardware type -> LINKTYPE: Ethernet and loopback (Linux gives loopback an Ethernet
header) -> Ethernet; tun devices (no header) -> raw IP."""
BLOCK_HEADER = struct.Struct("<IIIIIIQ")
"""tpacket_block_desc: version, offset_to_priv, then hdr_v1: block_status, num_pkts,
offset_to_first_pkt, blk_len, seq_num."""


@cython.ccall
def walk_block(
    ring: Bytes, start: Pos, count: Pos, first: Pos, skip_outgoing: cython.bint, offset: Col,
    caplen: Col, origlen: Col, ts: Col,
) -> Pos:  # fmt: skip
    """Index the packets of one retired block (tpacket3_hdr each, sockaddr_ll after it at 48);
    -> how many were kept."""
    pos: Pos = start + first
    n: Pos = 0
    outgoing: cython.int = PACKET_OUTGOING
    nxt: cython.longlong
    with cython.nogil:
        for _ in range(count):
            nxt = u32le(ring, pos)
            if not (skip_outgoing and ring[pos + 48 + 10] == outgoing):  # sll_pkttype
                offset[n] = pos + u16le(ring, pos + 24)  # tp_mac
                caplen[n], origlen[n] = u32le(ring, pos + 12), u32le(ring, pos + 16)
                ts[n] = u32le(ring, pos + 4) * 1_000_000_000 + u32le(ring, pos + 8)
                n += 1
            if nxt == 0:
                break
            pos += nxt
    return n


@dataclass
class LiveSource:
    """Packets arriving on one interface, as record batches. `batches()` also yields an empty
    batch every `wait` seconds without traffic, so the caller can expire flows and keep time."""

    interface: str
    bpf: str = ""
    block_size: int = 1 << 20
    blocks: int = 32
    retire_ms: int = 100
    wait: float = 0.5
    path: str = field(init=False)
    warnings: list[CaptureWarning] = field(default_factory=list)
    received: int = 0
    drops: int = 0

    def __post_init__(self) -> None:
        self.path = f"live:{self.interface}"
        kind = _arphrd(self.interface)
        if kind not in ARPHRD_LINKTYPE:
            raise ConfigError(f"{self.path}: unsupported interface type {kind}")
        self.linktype, self.loopback = ARPHRD_LINKTYPE[kind], kind == ARPHRD_LOOPBACK
        # Protocol 0: nothing is received until `bind` names the interface and the protocol,
        # after the ring and the filter are in place; an ETH_P_ALL socket would queue packets
        # of every interface, unfiltered, from its first moment.
        try:
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        except OSError as err:  # no CAP_NET_RAW, most often
            raise SetupError(f"{self.path}: cannot capture: {err.strerror or err}") from err
        try:
            self._setup()
        except OSError as err:
            self.sock.close()
            raise SetupError(f"{self.path}: cannot capture: {err.strerror or err}") from err
        except ConfigError:  # a bad filter
            self.sock.close()
            raise

    def _setup(self) -> None:
        s = self.sock
        s.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V3)
        req = struct.pack("<7I", self.block_size, self.blocks, 2048,
                          self.block_size // 2048 * self.blocks, self.retire_ms, 0, 0)  # fmt: skip
        s.setsockopt(SOL_PACKET, PACKET_RX_RING, req)
        self.ring_map = mmap.mmap(s.fileno(), self.block_size * self.blocks)
        self.ring = np.frombuffer(self.ring_map, dtype=np.uint8)
        if self.bpf:
            _attach_filter(s, self.bpf, self.interface, self.path)
        s.bind((self.interface, ETH_P_ALL))
        self.stats()  # reading the counters resets them: start from zero

    def batches(self) -> Iterator[RecordBatch]:
        size = self.block_size // 64 + 1  # packets are at least 64 bytes apart in a block
        cols = [np.empty(size, np.int64) for _ in range(4)]
        block = 0
        while True:
            base = block * self.block_size
            _, _, status, count, first, _, _ = BLOCK_HEADER.unpack_from(self.ring_map, base)
            if not status & TP_STATUS_USER:
                ready = select.select([self.sock], [], [], self.wait)[0]
                if not ready:
                    yield self._empty()
                continue
            n = walk_block(self.ring, base, count, first, self.loopback, *cols)
            self.received += n
            offset, caplen, origlen, ts = (c[:n].copy() for c in cols)
            kinds = np.full(n, self.linktype, np.int64)
            serials = np.arange(self.received - n, self.received, dtype=np.int64)
            yield RecordBatch(self.ring, offset, caplen, origlen, ts, kinds, serials)
            struct.pack_into("<I", self.ring_map, base + 8, TP_STATUS_KERNEL)
            block = (block + 1) % self.blocks

    def stats(self) -> tuple[int, int]:
        """(packets, drops) the kernel counted since the last call; drops are added up."""
        raw = self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 12)
        packets, drops, _ = struct.unpack("<3I", raw)
        self.drops += drops
        return packets, drops

    def _empty(self) -> RecordBatch:
        z = np.zeros(0, np.int64)
        return RecordBatch(self.ring, z, z, z, z, z, z)

    def close(self) -> None:
        """Close the socket; the ring's memory goes when the last batch viewing it does."""
        self.sock.close()


def _arphrd(interface: str) -> int:
    try:
        return int(Path(f"/sys/class/net/{interface}/type").read_text())
    except (OSError, ValueError) as err:
        raise ConfigError(f"live:{interface}: no such network interface") from err


def _attach_filter(sock: socket.socket, expr: str, interface: str, where: str) -> None:
    """Compile a BPF filter with libpcap for the interface (`agent.capture.bpf`, the compiler
    of `--filter` too) and attach it to the socket (SO_ATTACH_FILTER, a `struct sock_fprog`)."""
    try:
        program = compile_filter(expr, interface=interface)
    except BadFilter as err:
        raise ConfigError(f"{where}: {err}") from err
    fprog = struct.pack("HL", len(program), program.ctypes.data)
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
