"""Capture filters: our interpreter selects exactly what libpcap's own (`pcap_offline_filter`)
selects, record by record over every shared capture; hostile programs and packets read nothing
out of range; bad expressions are errors that name them."""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.capture import bpf_codes as C
from agent.capture import open_capture
from agent.capture.bpf import INSN, Program, Selector, compile_filter, kernel_rows, libpcap
from agent.capture.bpf_vm import select
from agent.errors import BadFilter, CaptureError
from agent.wire import numbers as N
from agent.wire.batch import RecordBatch

EXPRESSIONS = [
    "vlan", "ip6", "tcp port 443", "udp and not port 53", "icmp", "tcp[13] & 2 != 0",
    "vlan or udp and greater 200", "ip[6:2] & 0x1fff != 0", "greater 1000", "ether multicast",
    "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0 and len <= 100", "ip proto 47 or udp port 4789",
    "net 192.168.0.0/16 and not arp", "ip6 and ip6[6] = 17", "tcp[((tcp[12] & 0xf0) >> 2)] = 22",
]  # fmt: skip


class PacketHeader(ctypes.Structure):
    """`struct pcap_pkthdr` on Linux."""

    _fields_ = [("sec", ctypes.c_long), ("usec", ctypes.c_long), ("caplen", ctypes.c_uint32),
                ("len", ctypes.c_uint32)]  # fmt: skip


def libpcap_selects(program: np.ndarray, data: bytes, origlen: int) -> bool:
    """libpcap's own answer for one packet."""
    lib = libpcap()
    f = lib.pcap_offline_filter
    f.argtypes = [ctypes.POINTER(Program), ctypes.POINTER(PacketHeader), ctypes.c_char_p]
    prog = Program(len(program), program.ctypes.data)
    return bool(f(ctypes.byref(prog), ctypes.byref(PacketHeader(0, 0, len(data), origlen)), data))


@pytest.fixture(scope="module")
def batches(pcaps: Path) -> list[tuple[str, RecordBatch]]:
    """Every record of every shared capture, as batches that outlive their reader."""
    found = []
    for path in sorted(pcaps.iterdir()):
        if path.name.endswith((".json", ".md")):
            continue
        try:
            with open_capture(str(path)) as source:
                for b in source.batches():
                    found.append((path.name, RecordBatch(b.data.copy(), *b[1:])))
        except CaptureError:
            pass  # what came before the damage is kept
    return found


def records(batch: RecordBatch) -> Iterator[tuple[int, bytes, int, int]]:
    for off, cap, orig, link, where in zip(batch.offset.tolist(), batch.caplen.tolist(),
                                           batch.origlen.tolist(), batch.linktype.tolist(),
                                           batch.file_offset.tolist(), strict=True):  # fmt: skip
        yield link, bytes(batch.data[off : off + cap]), orig, where


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_selects_what_libpcap_selects(batches: list[tuple[str, RecordBatch]], expr: str) -> None:
    selector = Selector(expr)
    programs: dict[int, np.ndarray | None] = {}
    compared = chosen = 0
    differences = []
    for name, batch in batches:
        for link in set(batch.linktype.tolist()) - set(programs):
            try:
                programs[link] = compile_filter(expr, link)
            except BadFilter:
                programs[link] = None  # `vlan` has no meaning on raw IP
        if any(programs[k] is None for k in batch.linktype.tolist()):
            with pytest.raises(BadFilter, match="on .* captures"):
                selector.take(batch)
            continue
        ours = set(selector.take(batch).file_offset.tolist())
        for link, data, origlen, where in records(batch):
            theirs = libpcap_selects(programs[link], data, origlen)  # type: ignore[arg-type]
            compared, chosen = compared + 1, chosen + theirs
            if theirs != (where in ours):
                differences.append((name, where, theirs))
    assert differences == []
    assert compared > 5000
    assert 0 < chosen < compared  # the expression decides something in the corpus


def test_a_bad_filter_names_itself_and_libpcap_s_reason() -> None:
    with pytest.raises(BadFilter) as caught:
        Selector("tcp prot 443")
    reason = "can't parse filter expression: syntax error"
    assert str(caught.value) == f"bad filter 'tcp prot 443': {reason}"
    assert caught.value.exit_code == 2


def test_a_filter_for_another_link_type_says_which() -> None:
    selector = Selector("ether host 00:11:22:33:44:55")  # compiles on Ethernet
    with pytest.raises(BadFilter, match="'ether host 00:11:22:33:44:55' on raw IP captures"):
        selector.program(N.LINKTYPE_RAW)


def run(program: list[tuple[int, int, int, int]], packet: bytes, origlen: int = -1) -> bool:
    data = np.frombuffer(packet, np.uint8)
    out = np.empty(1, np.uint8)
    prog = np.array(program, np.int64).reshape(-1, 4)
    n = select(prog, data, np.array([0]), np.array([len(packet)]),
               np.array([len(packet) if origlen < 0 else origlen]), out)  # fmt: skip
    assert n == out[0]
    return bool(out[0])


RET_A = (C.RET | C.A, 0, 0, 0)


@pytest.mark.parametrize(("program", "accepts"), [
    ([(C.LD | C.W | C.ABS, 0, 0, 0), RET_A], True),  # 4 bytes at 0 of 4
    ([(C.LD | C.W | C.ABS, 0, 0, 1), RET_A], False),  # one past the end
    ([(C.LD | C.B | C.ABS, 0, 0, 0xFFFFFFFF), RET_A], False),
    ([(C.LDX | C.W | C.IMM, 0, 0, 0xFFFFFFFF), (C.LD | C.B | C.IND, 0, 0, 2), RET_A], False),
    ([(C.LDX | C.B | C.MSH, 0, 0, 4), RET_A], False),
    ([(C.LD | C.W | C.IMM, 0, 0, 7), (C.ALU | C.DIV | C.X, 0, 0, 0), RET_A], False),  # X is 0
    ([(C.LD | C.W | C.IMM, 0, 0, 7), (C.ALU | C.MOD | C.K, 0, 0, 0), RET_A], False),
    ([(C.LD | C.W | C.MEM, 0, 0, 16), RET_A], False),  # scratch word out of range
    ([(C.ST, 0, 0, 99), RET_A], False),
    ([(C.JMP | C.JA, 0, 0, 5), RET_A], False),  # jumps past the end
    ([(C.LD | C.W | C.IMM, 0, 0, 1)], False),  # runs off the end
    ([(0xFF, 0, 0, 0), (C.RET | C.K, 0, 0, 1)], False),  # no such instruction
    ([(C.LD | C.W | C.LEN, 0, 0, 0), (C.JMP | C.JGT | C.K, 0, 1, 99), (C.RET | C.K, 0, 0, 1),
      (C.RET | C.K, 0, 0, 0)], True),  # the wire length (1500) is not the captured length
])  # fmt: skip
def test_hostile_programs_reject_without_reading_out_of_range(
    program: list[tuple[int, int, int, int]], accepts: bool
) -> None:
    assert run(program, b"\x01\x02\x03\x04", origlen=1500) is accepts


def valid_programs() -> st.SearchStrategy[list[tuple[int, int, int, int]]]:
    """Programs libpcap's validator would pass (its interpreter trusts them): known codes,
    jumps inside, scratch words in range and stored before they are read (libpcap's start
    out as whatever its stack held), no division by a zero constant, a return last."""
    loads = [C.LD | s | m for s in (C.W, C.H, C.B) for m in (C.ABS, C.IND)] + [
        C.LD | C.W | C.IMM, C.LD | C.W | C.LEN, C.LDX | C.W | C.IMM, C.LDX | C.W | C.LEN,
        C.LDX | C.B | C.MSH]  # fmt: skip
    alus = [C.ALU | op | src for op in (C.ADD, C.SUB, C.MUL, C.DIV, C.OR, C.AND, C.LSH, C.RSH,
                                        C.MOD, C.XOR) for src in (C.K, C.X)] + [C.ALU | C.NEG]
    jumps = [C.JMP | op | src for op in (C.JEQ, C.JGT, C.JGE, C.JSET) for src in (C.K, C.X)]
    mems = [C.LD | C.W | C.MEM, C.LDX | C.W | C.MEM, C.ST, C.STX]
    misc = [C.MISC | C.TAX, C.MISC | C.TXA]

    @st.composite
    def build(draw: st.DrawFn) -> list[tuple[int, int, int, int]]:
        n = draw(st.integers(1, 24))
        prog = [(C.ST, 0, 0, word) for word in range(C.MEMWORDS)]  # A is 0 at the start
        for pc in range(n):
            code = draw(st.sampled_from(loads + alus + jumps + mems + misc + [C.JMP | C.JA]))
            room = n - pc - 1  # instructions after this one, the return included
            k = draw(st.sampled_from([0, 1, 2, 3, 12, 14, 23, 31, 32, 255, 0xFFFFFFFF])
                     | st.integers(0, 0xFFFFFFFF))  # fmt: skip
            jt = jf = 0
            if code in mems:
                k %= C.MEMWORDS
            elif code == C.JMP | C.JA:
                k %= room + 1
            elif code in jumps:
                jt, jf = draw(st.integers(0, min(room, 255))), draw(st.integers(0, min(room, 255)))
            elif code in (C.ALU | C.DIV, C.ALU | C.MOD):
                k = k or 1
            elif code in (C.ALU | C.LSH, C.ALU | C.RSH):
                k %= 32
            prog.append((code, jt, jf, k))
        prog.append(draw(st.sampled_from([(C.RET | C.A, 0, 0, 0), (C.RET | C.K, 0, 0, 1)])))
        return prog

    return build()


@given(valid_programs(), st.binary(max_size=64))
def test_any_valid_program_answers_as_libpcap_does(
    program: list[tuple[int, int, int, int]], packet: bytes
) -> None:
    insns = np.array([tuple(i) for i in program], INSN)
    assert (kernel_rows(insns) == np.array(program, np.int64)).all()
    assert run(program, packet) == libpcap_selects(insns, packet, len(packet))


@given(st.lists(st.tuples(st.integers(0, 0xFFFF), st.integers(0, 255), st.integers(0, 255),
                          st.integers(0, 0xFFFFFFFF)), max_size=32),
       st.binary(max_size=64), st.integers(0, 0xFFFFFFFF))  # fmt: skip
def test_any_program_on_any_packet_answers_without_reading_out_of_range(
    program: list[tuple[int, int, int, int]], packet: bytes, origlen: int
) -> None:
    run(program, packet, origlen)  # the buffer ends with the packet: reads are bounds-checked
