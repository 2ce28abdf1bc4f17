"""A minimal MaxMind DB writer for tests: an IPv6 search tree (24-bit records), a data section of
maps and strings, and the metadata, per the MaxMind DB format spec 2.0. Enough to build small
databases in memory, so `parse_mmdb` is tested against the real `maxminddb` reader."""

from __future__ import annotations

import ipaddress
from typing import Any

MARKER = b"\xab\xcd\xefMaxMind.com"


def _ctrl(type_: int, size: int) -> bytes:
    assert size < 29
    if type_ <= 7:
        return bytes([type_ << 5 | size])
    return bytes([size, type_ - 7])  # extended type


def encode(value: Any) -> bytes:
    if isinstance(value, str):
        raw = value.encode()
        return _ctrl(2, len(raw)) + raw
    if isinstance(value, dict):
        return _ctrl(7, len(value)) + b"".join(encode(k) + encode(v) for k, v in value.items())
    if isinstance(value, list):
        return _ctrl(11, len(value)) + b"".join(encode(v) for v in value)
    if isinstance(value, tuple):  # (type, int): unsigned of a given type (5 u16, 6 u32, 9 u64)
        type_, n = value
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        return _ctrl(type_, len(raw)) + raw
    raise TypeError(value)


def write_mmdb(networks: list[tuple[str, dict[str, Any]]], build_epoch: int = 1_780_000_000,
               database_type: str = "Test-Country") -> bytes:  # fmt: skip
    """(network, record) pairs -> the bytes of an IPv6 .mmdb; IPv4 networks go under ::/96."""
    data = b""
    offsets: list[int] = []
    for _, record in networks:
        offsets.append(len(data))
        data += encode(record)
    tree: list[list[Any]] = [[None, None]]  # children: node index (int) or ("data", i) or None
    for i, (text, _) in enumerate(networks):
        net = ipaddress.ip_network(text)
        value, plen = int(net.network_address), net.prefixlen
        if net.version == 4:
            plen += 96  # IPv4 lives at ::a.b.c.d in an IPv6 tree
        node = 0
        for depth in range(plen):
            bit = value >> (127 - depth) & 1  # an IPv4 value has 96 zero bits above it
            if depth == plen - 1:
                tree[node][bit] = ("data", i)
            else:
                child = tree[node][bit]
                if not isinstance(child, int):
                    tree.append([None, None])
                    child = tree[node][bit] = len(tree) - 1
                node = child
    count = len(tree)

    def record(child: Any) -> int:
        if child is None:
            return count
        if isinstance(child, int):
            return child
        return count + 16 + offsets[child[1]]

    body = b"".join(
        record(left).to_bytes(3, "big") + record(right).to_bytes(3, "big") for left, right in tree
    )
    meta = {
        "node_count": (6, count),
        "record_size": (5, 24),
        "ip_version": (5, 6),
        "database_type": database_type,
        "languages": ["en"],
        "binary_format_major_version": (5, 2),
        "binary_format_minor_version": (5, 0),
        "build_epoch": (9, build_epoch),
        "description": {"en": "residency test database"},
    }
    return body + bytes(16) + data + MARKER + encode(meta)
