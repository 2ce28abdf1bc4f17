"""Lookups in batches: many addresses, one compiled probe each, answers for the distinct ones."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import replace
from ipaddress import ip_network

import numpy as np
import numpy.typing as npt

from agent.errors import BadAddress
from agent.intel.records import U64
from agent.intel.table import V4_MAPPED, Answer, RangeTable, locate, prefix_text

MAPPED_PREFIX = bytes(10) + b"\xff\xff"


def to_words(addresses: Sequence[str]) -> tuple[U64, U64, npt.NDArray[np.bool_]]:
    """Text addresses -> (hi, lo, is IPv6 in the IPv4-mapped range) in the table's space."""
    packed = bytearray()
    for text in addresses:
        packed += _packed(text)
    words = np.frombuffer(bytes(packed), dtype=">u8").reshape(-1, 2).astype(np.uint64)
    hi, lo = words[:, 0].copy(), words[:, 1].copy()
    v6 = np.array([":" in a for a in addresses], bool)
    mapped = v6 & (hi == 0) & (lo >> np.uint64(32) == np.uint64(0xFFFF))
    return hi, lo, mapped


def _packed(text: str) -> bytes:
    """16 bytes of an address; IPv4 as IPv4-mapped. inet_pton is strict and fast."""
    try:
        if ":" in text:
            return socket.inet_pton(socket.AF_INET6, text.split("%", 1)[0])  # drop a zone
        return MAPPED_PREFIX + socket.inet_pton(socket.AF_INET, text)
    except OSError as err:
        raise BadAddress(f"not an IP address: {text!r}") from err


def unmapped(address: str) -> str:
    """An IPv4-mapped IPv6 address (::ffff:a.b.c.d, as dual-stack sockets show IPv4 peers)
    as the IPv4 address it is; a zone index (fe80::1%eth0) dropped."""
    address = address.split("%", 1)[0]
    if address.startswith("::ffff:") and "." in address:
        return address[7:]
    if ":" in address:
        try:
            value = int.from_bytes(socket.inet_pton(socket.AF_INET6, address), "big")
        except OSError:
            return address  # not an address: the lookup says so, with the text given
        if value >> 32 == 0xFFFF:
            return socket.inet_ntop(socket.AF_INET, (value & 0xFFFF_FFFF).to_bytes(4, "big"))
    return address


def lookup(table: RangeTable, addresses: Sequence[str]) -> list[Answer]:
    hi, lo, mapped = to_words(addresses)
    rows = table.locate(hi, lo).tolist()
    return [
        table.answer(a, row, bool(m)) for a, row, m in zip(addresses, rows, mapped, strict=True)
    ]


def lookup_network(table: RangeTable, text: str) -> list[tuple[str, Answer]]:
    """Who holds a network (a CIDR): one answer when the sources say the same of all of it,
    else each part, in order, with what is said of it (the sources that split it). Memory
    and time grow with the parts, not with the addresses."""
    try:
        net = ip_network(text, strict=False)
    except ValueError as err:
        raise BadAddress(f"not an IP address or network: {text!r}") from err
    base = V4_MAPPED if net.version == 4 else 0
    first, last = base | int(net.network_address), base | int(net.broadcast_address)
    starts_hi, starts_lo = table.a["starts_hi"], table.a["starts_lo"]
    ends = [first, last]
    hi = np.array([e >> 64 for e in ends], np.uint64)
    lo = np.array([e & (1 << 64) - 1 for e in ends], np.uint64)
    a, b = locate(starts_hi, starts_lo, hi, lo).tolist()
    parts: list[tuple[int, int, Answer]] = []
    for seg in range(max(a, 0), b + 1):
        start = max(first, int(starts_hi[seg]) << 64 | int(starts_lo[seg]))
        end = last if seg == b else (int(starts_hi[seg + 1]) << 64 | int(starts_lo[seg + 1])) - 1
        said = table.answer(str(net), table.a["ids"][seg].tolist())
        if parts and _same(parts[-1][2], said):
            parts[-1] = (parts[-1][0], end, parts[-1][2])
        else:
            parts.append((start, end, said))
    if len(parts) == 1:
        return [(str(net), parts[0][2])]
    return [(prefix_text(s, e, -1), replace(ans, address=prefix_text(s, e, -1)))
            for s, e, ans in parts]  # fmt: skip


def _same(x: Answer, y: Answer) -> bool:
    """The same thing said of two parts: a more specific range that says it again (AWS lists
    a /23 inside its /12 for another service tag set, say) does not split what it says."""
    return replace(x, address="", prefix=None) == replace(y, address="", prefix=None)
