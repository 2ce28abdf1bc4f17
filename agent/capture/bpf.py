"""Capture filters in tcpdump's syntax (`tcp port 443`), compiled by libpcap through ctypes, so
the offline commands' `--filter` and the daemon's `filter:` read one language with one set of
errors. Offline, `Selector` runs the program over each batch of records before it is decoded
(`agent.capture.bpf_vm`); live, the daemon attaches it to its packet socket (`agent.capture.live`).

A program depends on the link type (where the IP header starts), so each capture part and
pcapng interface gets the program compiled for its own; `Selector` keeps one per link type.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache

import numpy as np

from agent.capture.bpf_vm import select
from agent.errors import BadFilter, SetupError
from agent.wire import numbers as N
from agent.wire.batch import I64, RecordBatch
from agent.wire.keywords import LINK_TYPES

SNAPLEN = 262144
"""What libpcap is told the longest packet is: as tcpdump's default, so loads compile alike."""
NETMASK_UNKNOWN = 0xFFFFFFFF
"""`ip broadcast` then fails to compile, as tcpdump's does on a file."""
INSN = np.dtype([("code", "<u2"), ("jt", "u1"), ("jf", "u1"), ("k", "<u4")])
"""`struct bpf_insn` (and the kernel's `struct sock_filter`), as libpcap writes it."""
CHECKED_ON = (N.LINKTYPE_ETHERNET, N.LINKTYPE_RAW)
"""A filter that compiles for neither is wrong whatever the captures hold: said before reading."""


class Program(ctypes.Structure):
    """`struct bpf_program`."""

    _fields_ = [("bf_len", ctypes.c_uint), ("bf_insns", ctypes.c_void_p)]


@cache
def libpcap() -> ctypes.CDLL:
    """libpcap, with the signatures used here; SetupError when it is not installed."""
    name = ctypes.util.find_library("pcap")
    if name is None:
        raise SetupError("capture filters are compiled by libpcap, which is not installed "
                         "(Debian: apt install libpcap0.8)")  # fmt: skip
    lib = ctypes.CDLL(name)
    handle, text = ctypes.c_void_p, ctypes.c_char_p
    for fn, args, result in (
        ("pcap_open_dead", [ctypes.c_int, ctypes.c_int], handle),
        ("pcap_open_live", [text, ctypes.c_int, ctypes.c_int, ctypes.c_int, text], handle),
        ("pcap_compile", [handle, ctypes.POINTER(Program), text, ctypes.c_int, ctypes.c_uint32],
         ctypes.c_int),
        ("pcap_geterr", [handle], text),
        ("pcap_freecode", [ctypes.POINTER(Program)], None),
        ("pcap_close", [handle], None),
    ):  # fmt: skip
        f = getattr(lib, fn)
        f.argtypes, f.restype = args, result
    return lib


def compile_filter(expr: str, linktype: int = N.LINKTYPE_ETHERNET,
                   interface: str = "") -> np.ndarray:  # fmt: skip
    """The program (INSN rows) for `expr` on records of `linktype`, or for packets as the
    live `interface` delivers them (libpcap then knows the kernel's ways, such as VLAN tags
    taken out of the packet); BadFilter names the expression and libpcap's reason."""
    lib = libpcap()
    err = ctypes.create_string_buffer(256)  # PCAP_ERRBUF_SIZE
    if interface:
        pcap = lib.pcap_open_live(interface.encode(), SNAPLEN, 0, 0, err)
    else:
        pcap = lib.pcap_open_dead(linktype, SNAPLEN)
    if not pcap:
        raise SetupError(f"live:{interface}: libpcap cannot open it to compile the filter "
                         f"{expr!r}: {err.value.decode(errors='replace')}")  # fmt: skip
    try:
        prog = Program()
        if lib.pcap_compile(pcap, ctypes.byref(prog), expr.encode(), 1, NETMASK_UNKNOWN):
            why = lib.pcap_geterr(pcap).decode(errors="replace")
            raise BadFilter(expr, why, "" if interface else LINK_TYPES.get(linktype, ""))
        try:
            size = prog.bf_len * INSN.itemsize
            return np.frombuffer(ctypes.string_at(prog.bf_insns, size), INSN).copy()
        finally:
            lib.pcap_freecode(ctypes.byref(prog))
    finally:
        lib.pcap_close(pcap)


def kernel_rows(program: np.ndarray) -> I64:
    """INSN rows as the interpreter reads them: (code, jt, jf, k) in int64 columns."""
    return np.stack([program[f].astype(np.int64) for f in INSN.names or ()], axis=1)


class Selector:
    """A filter run over record batches: only the records it selects go on to be decoded."""

    def __init__(self, expr: str) -> None:
        self.expr = expr
        self._programs: dict[int, I64] = {}
        errors: list[BadFilter] = []
        for linktype in CHECKED_ON:
            try:
                self.program(linktype)
            except BadFilter as err:
                errors.append(err)
        if len(errors) == len(CHECKED_ON):
            raise BadFilter(expr, errors[0].reason)

    def program(self, linktype: int) -> I64:
        """The filter compiled for `linktype`, once."""
        if linktype not in self._programs:
            self._programs[linktype] = kernel_rows(compile_filter(self.expr, linktype))
        return self._programs[linktype]

    def take(self, batch: RecordBatch) -> RecordBatch:
        """The records of `batch` the filter selects, in order."""
        if not batch.size:
            return batch
        keep = np.empty(batch.size, np.uint8)
        kinds = batch.linktype
        first = int(kinds[0])
        if (kinds == first).all():  # the usual case: one interface
            select(self.program(first), batch.data, batch.offset, batch.caplen, batch.origlen,
                   keep)  # fmt: skip
        else:
            for kind in np.unique(kinds).tolist():
                rows = np.flatnonzero(kinds == kind)
                part = np.empty(len(rows), np.uint8)
                select(self.program(kind), batch.data, batch.offset[rows], batch.caplen[rows],
                       batch.origlen[rows], part)  # fmt: skip
                keep[rows] = part
        chosen = keep.view(bool)
        return RecordBatch(batch.data, *(column[chosen] for column in batch[1:]))
