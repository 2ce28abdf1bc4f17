"""Lookups in batches: many addresses, one compiled probe each, answers for the distinct ones."""

from __future__ import annotations

import socket
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from agent.errors import BadAddress
from agent.intel.records import U64
from agent.intel.table import Answer, RangeTable

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


def lookup(table: RangeTable, addresses: Sequence[str]) -> list[Answer]:
    hi, lo, mapped = to_words(addresses)
    rows = table.locate(hi, lo).tolist()
    return [
        table.answer(a, row, bool(m)) for a, row, m in zip(addresses, rows, mapped, strict=True)
    ]
