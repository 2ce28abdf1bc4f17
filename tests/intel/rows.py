"""Reading a RangeSet back independently of the parsers (through `ipaddress`), so tests compare
what a file says with what was parsed, not the parser with itself."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import numpy as np

from agent.intel.records import Label, RangeSet

MAPPED = 0xFFFF_0000_0000


def norm(text: str) -> str:
    """A CIDR's canonical text."""
    return str(ipaddress.ip_network(text))


def value(rs: RangeSet, hi: str, lo: str, i: int) -> int:
    return int(getattr(rs, hi)[i]) << 64 | int(getattr(rs, lo)[i])


def prefix(rs: RangeSet, i: int) -> str:
    first, plen = value(rs, "first_hi", "first_lo", i), int(rs.prefix_len[i])
    if first >> 32 == 0xFFFF:
        return f"{ipaddress.IPv4Address(first & 0xFFFF_FFFF)}/{plen - 96}"
    return f"{ipaddress.IPv6Address(first)}/{plen}"


def by_prefix(rs: RangeSet) -> dict[str, Label]:
    """Canonical CIDR text -> its label; each CIDR must be one row."""
    out = {prefix(rs, i): rs.labels[int(rs.label[i])] for i in range(len(rs))}
    assert len(out) == len(rs), "a CIDR appears in more than one row"
    return out


def check_columns(rs: RangeSet) -> None:
    """Shapes, dtypes, label indexes, and each CIDR row's last address from its length."""
    cols = (rs.first_hi, rs.first_lo, rs.last_hi, rs.last_lo, rs.prefix_len, rs.label)
    assert {len(c) for c in cols} == {len(rs)}
    assert [c.dtype for c in cols] == [np.uint64] * 4 + [np.int64] * 2
    assert len(rs) == 0 or (0 <= rs.label.min() and rs.label.max() < len(rs.labels))
    assert len(set(rs.labels)) == len(rs.labels), "labels are interned"
    for i in range(len(rs)):
        first, last = value(rs, "first_hi", "first_lo", i), value(rs, "last_hi", "last_lo", i)
        plen = int(rs.prefix_len[i])
        assert first <= last
        if plen >= 0:
            assert last - first == (1 << (128 - plen)) - 1 and first % (1 << (128 - plen)) == 0


def is_v4(rs: RangeSet) -> np.ndarray:  # type: ignore[type-arg]
    return (rs.first_hi == 0) & (rs.first_lo >> np.uint64(32) == np.uint64(0xFFFF))


def load(path: Path) -> Any:
    return json.loads(path.read_bytes())


def with_host_bit(text: str) -> str:
    """The CIDR with its lowest address bit set (host bits set); the CIDR must have host bits."""
    net = ipaddress.ip_network(text)
    assert net.prefixlen < net.max_prefixlen
    return f"{net.network_address + 1}/{net.prefixlen}"
