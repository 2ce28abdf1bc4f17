"""Strict address, CIDR and range text -> inclusive ranges in the one 128-bit space, and the builder
that turns parsed rows into a `RangeSet`'s columns.

IPv4 is placed IPv4-mapped (::ffff:a.b.c.d, as in the flow table), so one space and one table serve
both families; an IPv4 /n is /96+n there. Text goes through `socket.inet_pton`, which is strict
(no leading zeros, no zone index, no surrounding space) and several times faster than
`ipaddress`, which matters for Azure's 100k prefixes.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from agent.intel.records import Label, RangeSet

MASK64 = (1 << 64) - 1
V4_MAPPED = 0xFFFF_0000_0000
"""::ffff:0:0, the base of IPv4 in the 128-bit space."""
V4_MAPPED_LAST = V4_MAPPED | 0xFFFF_FFFF


class Cidr(NamedTuple):
    """An inclusive range in the 128-bit space; `prefix_len` is -1 for a range that is no CIDR."""

    first_hi: int
    first_lo: int
    last_hi: int
    last_lo: int
    prefix_len: int

    @property
    def is_v4(self) -> bool:
        return self.first_hi == 0 and self.first_lo >> 32 == 0xFFFF


def parse_address(text: str) -> tuple[int, bool]:
    """Address text -> (its value in the 128-bit space, whether it is IPv4)."""
    if ":" in text:
        try:
            value = int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
        except (OSError, ValueError):
            raise ValueError(f"not an IPv6 address: {text!r}") from None
        return value, False
    try:
        return V4_MAPPED | int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big"), True
    except (OSError, ValueError):
        raise ValueError(f"not an IPv4 address: {text!r}") from None


def parse_cidr(text: str, spans_v4: bool = False) -> Cidr:
    """`address/length` -> its range. Host bits set are an error, never silently cleared: a file
    that writes 10.0.0.1/24 means something we cannot know. `spans_v4` lets an IPv6 range cover
    the IPv4-mapped block (a policy's `::/0` means every IPv6 address, and IPv4 with it)."""
    addr, slash, length = text.partition("/")
    if not slash:
        raise ValueError(f"not a CIDR (address/length): {text!r}")
    value, v4 = parse_address(addr)
    bits = 32 if v4 else 128
    if not (length.isascii() and length.isdigit()) or length != str(int(length)):
        raise ValueError(f"bad prefix length in {text!r}")
    n = int(length)
    if n > bits:
        raise ValueError(f"prefix length {n} is longer than {bits} bits in {text!r}")
    host = (1 << (bits - n)) - 1
    if value & host:
        net = value & ~host
        shown = socket.inet_ntop(
            *(
                (socket.AF_INET, (net & 0xFFFF_FFFF).to_bytes(4, "big"))
                if v4
                else (socket.AF_INET6, net.to_bytes(16, "big"))
            )  # fmt: skip
        )
        raise ValueError(f"host bits set in {text!r} (the network is {shown}/{n})")
    last = value | host
    if not v4 and not spans_v4:
        _outside_v4(value, last, text)
    return Cidr(value >> 64, value & MASK64, last >> 64, last & MASK64, n + 96 if v4 else n)


def parse_range(first: str, last: str) -> Cidr:
    """Two address texts -> the inclusive range between them (prefix_len -1: not a CIDR)."""
    a, a4 = parse_address(first)
    b, b4 = parse_address(last)
    if a4 != b4:
        raise ValueError(f"range ends are of different families: {first!r} and {last!r}")
    if a > b:
        raise ValueError(f"range start {first!r} is after its end {last!r}")
    if not a4:
        _outside_v4(a, b, f"{first}-{last}")
    return Cidr(a >> 64, a & MASK64, b >> 64, b & MASK64, -1)


def _outside_v4(first: int, last: int, text: str) -> None:
    """IPv6 ranges must stay out of ::ffff:0:0/96, where IPv4 lives in this space."""
    if first <= V4_MAPPED_LAST and last >= V4_MAPPED:
        raise ValueError(f"IPv6 {text!r} overlaps ::ffff:0:0/96 (IPv4-mapped): write IPv4 as IPv4")


def merge_labels(labels: Iterable[Label]) -> Label:
    """One label from what several entries say about the same range: services are united; any
    other field is kept where every entry that says it agrees, else it becomes None (the file
    contradicts itself there, and we do not pick). An entry that does not say (None) does not
    disagree: Azure's global `Storage` tag does not unplace a prefix `Storage.EastUS` places."""
    labels = list(dict.fromkeys(labels))
    if len(labels) == 1:
        return labels[0]

    def agreed(values: Iterable[str | None]) -> str | None:
        said = {v for v in values if v is not None}
        return said.pop() if len(said) == 1 else None

    return Label(
        provider=agreed(x.provider for x in labels),
        region=agreed(x.region for x in labels),
        services=tuple(sorted({s for x in labels for s in x.services})),
        border_group=agreed(x.border_group for x in labels),
        country=agreed(x.country for x in labels),
        city=agreed(x.city for x in labels),
        site=agreed(x.site for x in labels),
    )


class RangeBuilder:
    """Collects (range, label) rows in file order. A range given more than once becomes one row
    whose label merges all of its labels (`merge_labels`): AWS lists a prefix once per service,
    Azure once per service tag, and a lookup should find the range with everything said about it.
    """

    def __init__(self) -> None:
        self._rows: dict[Cidr, list[int]] = {}
        self._said: dict[Label, int] = {}  # each label given, numbered
        self._last: tuple[Label | None, int] = (None, 0)  # parsers give one label many times

    def add(self, cidr: Cidr, label: Label) -> None:
        last, n = self._last
        if label is not last:
            n = self._said.setdefault(label, len(self._said))
            self._last = label, n
        said = self._rows.get(cidr)
        if said is None:
            self._rows[cidr] = [n]
        elif n not in said:
            said.append(n)

    def __len__(self) -> int:
        return len(self._rows)

    def build(self, kind: str, layer: str, version: str, created: str, slot: str = "") -> RangeSet:
        given = list(self._said)
        merged: dict[tuple[int, ...], int] = {}  # a set of given labels -> its label's index
        interned: dict[Label, int] = {}
        index = []
        for said in self._rows.values():
            key = tuple(sorted(said))
            i = merged.get(key)
            if i is None:
                lab = merge_labels(given[n] for n in key)
                i = merged[key] = interned.setdefault(lab, len(interned))
            index.append(i)
        columns = list(zip(*self._rows, strict=True)) or [()] * 5
        fh, fl, lh, ll = (np.array(c, np.uint64) for c in columns[:4])
        return RangeSet(
            kind, layer, version, created, fh, fl, lh, ll, np.array(columns[4], np.int64),
            np.array(index, np.int64), tuple(interned), slot,
        )  # fmt: skip
