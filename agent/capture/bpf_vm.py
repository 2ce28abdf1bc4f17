"""A classic BPF interpreter over a batch of records: which records a compiled filter selects.

Why our own and not `pcap_offline_filter`: one call per batch in compiled code, not one ctypes
call per packet. The semantics are classic BPF's, as libpcap's `bpf_filter.c` runs them: A and
X are 32-bit, 16 scratch words, jumps only forward (so every program ends); a load past the
captured bytes, a division or modulus by zero, a scratch word out of range, a jump past the
end or an unknown instruction rejects the packet. Every read of the packet is checked against
its captured length and the buffer first, so a hostile program or packet reads nothing out of
range. The program is rows of (code, jt, jf, k), as `agent.capture.bpf` compiles it.
"""

from __future__ import annotations

import cython
from cython.cimports.agent.capture import bpf_codes as C
from cython.cimports.agent.cdefs import Bytes, Flags, ICol, ICols, Pos

U32 = cython.declare(cython.longlong, 0xFFFFFFFF)


@cython.ccall
def select(prog: ICols, data: Bytes, offset: ICol, caplen: ICol, origlen: ICol, out: Flags) -> Pos:
    """Set `out[i]` to 1 where the program accepts record i (0 where not); -> how many did."""
    n: Pos = 0
    i: Pos
    with cython.nogil:
        for i in range(offset.shape[0]):
            out[i] = run(prog, data, offset[i], caplen[i], origlen[i]) != 0
            n += out[i]
    return n


REJECT = cython.declare(cython.longlong, -1)
"""What `operand` and `alu` answer for a packet the program must reject."""


@cython.cfunc
@cython.nogil
@cython.exceptval(check=False)
def run(prog: ICols, data: Bytes, start: Pos, caplen: Pos, wirelen: Pos) -> cython.longlong:
    """The program's answer for one packet `data[start:start+caplen]`: 0 rejects."""
    mem = cython.declare(cython.longlong[16])
    a: cython.longlong = 0
    x: cython.longlong = 0
    v: cython.longlong
    k: cython.longlong
    code: cython.longlong
    cls: cython.longlong
    pc: Pos = 0
    j: cython.int
    for j in range(C.MEMWORDS):
        mem[j] = 0
    if start < 0 or caplen < 0 or start + caplen > data.shape[0]:
        return 0  # a record that does not lie inside the buffer is never read
    while 0 <= pc < prog.shape[0]:
        code, k = prog[pc, 0], prog[pc, 3] & U32
        cls = code & 0x07
        if cls == C.LD or cls == C.LDX:
            v = operand(code, k, x, mem, data, start, caplen, wirelen)
            if v == REJECT:
                return 0
            if cls == C.LD:
                a = v
            else:
                x = v
        elif cls == C.ST or cls == C.STX:
            if k >= C.MEMWORDS:
                return 0
            mem[k] = a if cls == C.ST else x
        elif cls == C.ALU:
            a = alu(code & 0xF0, a, x if code & C.X else k)
            if a == REJECT:
                return 0
        elif cls == C.JMP:
            if code & 0xF0 > C.JSET:
                return 0
            if code & 0xF0 == C.JA:
                pc += k
            else:
                pc += prog[pc, 1] if jumps(code & 0xF0, a, x if code & C.X else k) else prog[pc, 2]
        elif cls == C.RET:
            return a if code & 0x18 == C.A else k if code & 0x18 == C.K else 0
        elif code & 0xF8 == C.TAX:
            x = a
        elif code & 0xF8 == C.TXA:
            a = x
        else:
            return 0
        pc += 1
    return 0  # ran off the end, or jumped past it


@cython.cfunc
@cython.nogil
@cython.exceptval(check=False)
def operand(
    code: cython.longlong, k: cython.longlong, x: cython.longlong, mem: cython.p_longlong,
    data: Bytes, start: Pos, caplen: Pos, wirelen: Pos,
) -> cython.longlong:  # fmt: skip
    """What a load (LD or LDX) reads, or REJECT: a load past the captured bytes, a scratch
    word out of range, a load no classic BPF has."""
    mode: cython.longlong = code & 0xE0
    size: cython.longlong = code & 0x18
    ldx: cython.bint = code & 0x07 == C.LDX
    at: cython.longlong = k
    if mode == C.MSH:
        if not ldx or size != C.B or k >= caplen:
            return REJECT
        return (data[start + k] & 0xF) << 2
    if mode == C.IMM or mode == C.LEN or mode == C.MEM:
        if size != C.W or mode == C.MEM and k >= C.MEMWORDS:
            return REJECT
        return k if mode == C.IMM else wirelen & U32 if mode == C.LEN else mem[k]
    if ldx or not (mode == C.ABS or mode == C.IND) or size == 0x18:
        return REJECT
    if mode == C.IND:
        at = k + x
    n: cython.longlong = 4 if size == C.W else 2 if size == C.H else 1
    if at + n > caplen:
        return REJECT
    v: cython.longlong = 0
    j: cython.longlong
    for j in range(n):
        v = (v << 8) | data[start + at + j]
    return v


@cython.cfunc
@cython.nogil
@cython.exceptval(check=False)
def alu(op: cython.longlong, a: cython.longlong, v: cython.longlong) -> cython.longlong:
    """A after an ALU operation on A and `v` (32-bit), or REJECT (a division or modulus by
    zero, an operation no classic BPF has)."""
    if op == C.ADD:
        return (a + v) & U32
    if op == C.SUB:
        return (a - v) & U32
    if op == C.MUL:
        return (cython.cast(cython.ulonglong, a) * cython.cast(cython.ulonglong, v)) & U32
    if op == C.DIV or op == C.MOD:
        if v == 0:
            return REJECT
        return a // v if op == C.DIV else a % v
    if op == C.OR:
        return a | v
    if op == C.AND:
        return a & v
    if op == C.XOR:
        return a ^ v
    if op == C.LSH:
        return (a << v) & U32 if v < 32 else 0
    if op == C.RSH:
        return a >> v if v < 32 else 0
    if op == C.NEG:
        return (0 - a) & U32
    return REJECT


@cython.cfunc
@cython.nogil
@cython.exceptval(check=False)
def jumps(op: cython.longlong, a: cython.longlong, v: cython.longlong) -> cython.bint:
    """Whether a conditional jump takes its true branch."""
    if op == C.JEQ:
        return a == v
    if op == C.JGT:
        return a > v
    if op == C.JGE:
        return a >= v
    return (a & v) != 0  # JSET
