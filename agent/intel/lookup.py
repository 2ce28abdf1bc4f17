"""Lookups in batches: many addresses, one compiled probe each, answers for the distinct ones."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from agent.errors import ResidencyError
from agent.intel.records import U64
from agent.intel.table import V4_MAPPED, Answer, RangeTable

MASK64 = (1 << 64) - 1


class BadAddress(ResidencyError):
    """Not an IP address."""

    exit_code = 2


def to_words(addresses: Sequence[str]) -> tuple[U64, U64, npt.NDArray[np.bool_]]:
    """Text addresses -> (hi, lo, is IPv6 in the IPv4-mapped range) in the table's space."""
    values = []
    mapped = []
    for text in addresses:
        try:
            ip = ipaddress.ip_address(text.strip().split("%")[0])  # drop a zone index
        except ValueError as err:
            raise BadAddress(f"not an IP address: {text!r}") from err
        v = int(ip) | V4_MAPPED if ip.version == 4 else int(ip)
        values.append(v)
        mapped.append(ip.version == 6 and ip.ipv4_mapped is not None)
    hi = np.array([v >> 64 for v in values], np.uint64)
    lo = np.array([v & MASK64 for v in values], np.uint64)
    return hi, lo, np.array(mapped, bool)


def lookup(table: RangeTable, addresses: Sequence[str]) -> list[Answer]:
    hi, lo, mapped = to_words(addresses)
    rows = table.locate(hi, lo).tolist()
    return [
        table.answer(a, row, bool(m)) for a, row, m in zip(addresses, rows, mapped, strict=True)
    ]
