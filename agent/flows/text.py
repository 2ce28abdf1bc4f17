"""Flows as text, by compiled code: addresses as `ipaddress` writes them, and the JSON line of
each flow (`agent.cli.listing.json_lines` is its one caller).

Why: once the kernels were compiled, writing the text was most of `residency flows`: str.format
and `ipaddress` cost about 6 µs a flow, a third of the run at 77,000 flows per million packets.
Here a flow costs a few hundred nanoseconds. Compiled (Cython, pure-Python mode); every write
stays inside a buffer sized for the longest line before it is filled.
"""

from __future__ import annotations

import cython
from cython.cimports.agent.cdefs import ICol, ICols, Pos, U64s
from cython.cimports.cpython.unicode import PyUnicode_AsUTF8AndSize, PyUnicode_DecodeUTF8
from cython.cimports.libc.stdlib import free, malloc
from cython.cimports.libc.string import memcpy, strlen

BILLION = cython.declare(cython.longlong, 1_000_000_000)
FLAG_LETTERS = cython.declare(cython.p_const_char, b"FSRPAUEC")
"""TCP flag bits 0 (FIN) .. 7 (CWR), as `agent.model.TCP_FLAG_LETTERS` writes them."""
INT_FIELDS = (
    "proto", "sport", "dport", "depth", "packets_fwd", "bytes_fwd", "frame_bytes_fwd",
    "packets_rev", "bytes_rev", "frame_bytes_rev", "first_ns", "last_ns", "tcp_flags_fwd",
    "tcp_flags_rev", "serial",
)  # fmt: skip
"""The integer rows `json_lines` takes, in order; each value (and each time written as seconds)
takes at most 20 characters."""
STR_FIELDS = ("src", "dst", "end", "names", "direction")


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _text(out: cython.p_char, at: Pos, text: cython.p_const_char) -> Pos:
    n: Pos = strlen(text)
    memcpy(out + at, text, n)
    return at + n


@cython.cfunc
def _str(out: cython.p_char, at: Pos, value: object) -> Pos:
    """A str's UTF-8 bytes (its size was counted by `_room`)."""
    n: cython.Py_ssize_t = 0
    data: cython.p_const_char = PyUnicode_AsUTF8AndSize(value, cython.address(n))
    memcpy(out + at, data, n)
    return at + n


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _uint(out: cython.p_char, at: Pos, v: cython.ulonglong, width: cython.int) -> Pos:
    """Decimal digits of `v`, zero-padded to `width`."""
    digits = cython.declare(cython.char[24])
    n: cython.int = 0
    while v or n < width or n == 0:
        digits[n] = 48 + v % 10
        v //= 10
        n += 1
    while n:
        n -= 1
        out[at] = digits[n]
        at += 1
    return at


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _int(out: cython.p_char, at: Pos, v: cython.longlong) -> Pos:
    if v < 0:
        out[at] = 45  # -
        return _uint(out, at + 1, cython.cast(cython.ulonglong, -(v + 1)) + 1, 1)
    return _uint(out, at, v, 1)


@cython.cfunc
@cython.exceptval(check=False)
def _seconds(out: cython.p_char, at: Pos, ns: cython.longlong) -> Pos:
    """ns as exact decimal seconds, floored as `agent.model.seconds` floors them."""
    whole: cython.longlong = ns // BILLION
    part: cython.longlong = ns % BILLION
    if part < 0:
        part += BILLION
        whole -= 1
    at = _int(out, at, whole)
    out[at] = 46  # .
    return _uint(out, at + 1, part, 9)


@cython.cfunc
@cython.exceptval(check=False)
def _flags(out: cython.p_char, at: Pos, bits: cython.longlong) -> Pos:
    i: cython.int
    for i in range(8):
        if bits >> i & 1:
            out[at] = FLAG_LETTERS[i]
            at += 1
    return at


@cython.cfunc
@cython.exceptval(check=False)
def _hextet(out: cython.p_char, at: Pos, h: cython.uint) -> Pos:
    """Lower-case hex without leading zeros, as `ipaddress` writes a group."""
    shift: cython.int = 12
    while shift > 0 and (h >> shift) == 0:
        shift -= 4
    d: cython.uint
    while shift >= 0:
        d = (h >> shift) & 15
        out[at] = 48 + d if d < 10 else 87 + d
        at += 1
        shift -= 4
    return at


@cython.cfunc
@cython.exceptval(check=False)
def _ipv6(out: cython.p_char, at: Pos, hi: cython.ulonglong, lo: cython.ulonglong) -> Pos:
    """RFC 5952 as Python 3.11's `IPv6Address.__str__`: the longest run of two or more zero
    groups (the first, on a tie) becomes `::`; IPv4-mapped addresses stay in hex."""
    groups = cython.declare(cython.uint[8])
    i: cython.int
    for i in range(4):
        groups[i] = (hi >> (48 - 16 * i)) & 0xFFFF
        groups[4 + i] = (lo >> (48 - 16 * i)) & 0xFFFF
    best: cython.int = -1
    best_len: cython.int = 1
    run: cython.int = 0
    for i in range(8):
        run = run + 1 if groups[i] == 0 else 0
        if run > best_len:
            best, best_len = i - run + 1, run
    for i in range(8):
        if i == best:
            out[at], out[at + 1] = 58, 58
            at += 2
        elif best < 0 or i < best or i >= best + best_len:
            if i and i != best + best_len:
                out[at] = 58
                at += 1
            at = _hextet(out, at, groups[i])
    return at


@cython.cfunc
@cython.exceptval(check=False)
def _address(out: cython.p_char, hi: cython.ulonglong, lo: cython.ulonglong,
             version: cython.longlong) -> Pos:  # fmt: skip
    at: Pos = 0
    i: cython.int
    if version != 4:
        return _ipv6(out, at, hi, lo)
    for i in range(4):
        if i:
            out[at] = 46
            at += 1
        at = _uint(out, at, (lo >> (24 - 8 * i)) & 0xFF, 1)
    return at


@cython.ccall
def address(hi: cython.ulonglong, lo: cython.ulonglong, version: cython.longlong) -> str:
    """One address of flow key words (see `addresses`)."""
    text = cython.declare(cython.char[48])
    written: str = PyUnicode_DecodeUTF8(text, _address(text, hi, lo, version), cython.NULL)
    return written


@cython.ccall
def addresses(hi: U64s, lo: U64s, version: ICol) -> list[str]:
    """The addresses of flow key words (IPv4 in the low 32 bits of `lo` when `version` is 4)."""
    n: Pos = hi.shape[0]
    if lo.shape[0] != n or version.shape[0] != n:
        raise ValueError("address columns of different lengths")
    text = cython.declare(cython.char[48])  # 39 is the longest IPv6 text
    out: list[str] = [""] * n
    i: Pos
    for i in range(n):
        out[i] = PyUnicode_DecodeUTF8(text, _address(text, hi[i], lo[i], version[i]), cython.NULL)
    return out


JSON_KEYS = (
    b'{"capture": ', b', "proto": ', b', "src": "', b'", "sport": ', b', "dst": "', b'", "dport": ',
    b', "depth": ', b', "packets_fwd": ', b', "bytes_fwd": ', b', "frame_bytes_fwd": ',
    b', "packets_rev": ', b', "bytes_rev": ', b', "frame_bytes_rev": ', b', "first_ns": ',
    b', "last_ns": ', b', "tcp_flags_fwd": "', b'", "tcp_flags_rev": "', b'", "end": "',
    b'", "serial": ', b', "names": ', b', "direction": "', b'", "first": "', b'", "last": "',
    b'"}\n',
)  # fmt: skip
"""The JSON line's text around its values."""
LINE_ROOM = sum(map(len, JSON_KEYS)) + 20 * len(INT_FIELDS) + 2 * 21 + 2 * 8
"""The most bytes a JSON line takes besides its strings: keys, integers (at most 20
characters), the two times in seconds (21) and the TCP flags (8 letters)."""


@cython.cfunc
def _room(strings: tuple[list[str], ...], n: Pos) -> Pos:
    """Bytes of the strings' UTF-8, in all."""
    total: Pos = 0
    size: cython.Py_ssize_t = 0
    column: list[str]
    i: Pos
    for column in strings:
        if len(column) != n:
            raise ValueError("flow columns of different lengths")
        for i in range(n):
            PyUnicode_AsUTF8AndSize(column[i], cython.address(size))
            total += size
    return total


@cython.ccall
def json_lines(capture: str, ints: ICols, strings: tuple[list[str], ...]) -> str:
    """The flows' JSON lines, one text. `capture` is its JSON text already; `ints` are the
    int64 rows proto, sport, dport, depth, packets/bytes/frame bytes forward then reverse,
    first_ns, last_ns, TCP flags forward and reverse, serial (INT_FIELDS); `strings` are src,
    dst, end, the names' JSON text and direction (STR_FIELDS)."""
    n: Pos = ints.shape[1]
    if ints.shape[0] != len(INT_FIELDS) or len(strings) != len(STR_FIELDS):
        raise ValueError(f"json_lines takes {len(INT_FIELDS)} integer and {len(STR_FIELDS)} "
                         "text columns")  # fmt: skip
    src, dst, end, names, direction = strings
    keys = cython.declare(cython.p_const_char[24])
    k: cython.int
    key: bytes
    for k in range(24):
        key = JSON_KEYS[k]
        keys[k] = key  # JSON_KEYS keeps it alive
    room: Pos = n * (LINE_ROOM + len(capture.encode()))
    room += _room(strings, n)
    out: cython.p_char = cython.cast(cython.p_char, malloc(room + 1))
    if not out:
        raise MemoryError()
    at: Pos = 0
    i: Pos
    try:
        for i in range(n):
            for k in range(12, 14):
                if ints[k, i] < 0 or ints[k, i] > 255:
                    raise ValueError(f"TCP flags {ints[k, i]} are not one byte")
            at = _text(out, at, keys[0])
            at = _str(out, at, capture)
            at = _text(out, at, keys[1])
            at = _int(out, at, ints[0, i])  # proto
            at = _text(out, at, keys[2])
            at = _str(out, at, src[i])
            at = _text(out, at, keys[3])
            at = _int(out, at, ints[1, i])  # sport
            at = _text(out, at, keys[4])
            at = _str(out, at, dst[i])
            at = _text(out, at, keys[5])
            for k in range(2, 12):  # dport .. last_ns
                at = _int(out, at, ints[k, i])
                at = _text(out, at, keys[4 + k])
            for k in range(12, 14):  # TCP flags as letters
                at = _flags(out, at, ints[k, i])
                at = _text(out, at, keys[4 + k])
            at = _str(out, at, end[i])
            at = _text(out, at, keys[18])
            at = _int(out, at, ints[14, i])  # serial
            at = _text(out, at, keys[19])
            at = _str(out, at, names[i])
            at = _text(out, at, keys[20])
            at = _str(out, at, direction[i])
            at = _text(out, at, keys[21])
            at = _seconds(out, at, ints[10, i])
            at = _text(out, at, keys[22])
            at = _seconds(out, at, ints[11, i])
            at = _text(out, at, keys[23])
        lines: str = PyUnicode_DecodeUTF8(out, at, cython.NULL)
        return lines
    finally:
        free(out)
