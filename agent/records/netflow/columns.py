"""NetFlow v5, v9 and IPFIX data sets decoded as arrays: a template compiles to a numpy
structured dtype (big-endian fields by role, the rest padding), so the data sets of many
datagrams under one template are read with one `np.frombuffer` and turned into record columns
with a few array operations each, rather than a dict and a `FlowRecord` per record.

The collector (`agent.records.netflow.session`) walks each datagram's headers and sets and
queues each data set here as a `Pending` with what its datagram said (export time, uptime,
place, vantage point, sampling rate as known then); `flush` decodes the queue into one
`FlowRecordBatch` per source, in the order the records came.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from agent.records.batch import RECORD, FlowRecordBatch
from agent.records.netflow.ies import NTP_EPOCH, PORTED

Array = npt.NDArray[np.int64]
START, END = (tuple(f"{end}_{unit}" for unit in ("ms", "s", "us", "ns", "delta_us", "uptime"))
              for end in ("start", "end"))  # fmt: skip
"""The roles a flow's start and end may come in, in the order they are preferred."""
_PORTED = np.array(sorted(PORTED))


@dataclass(slots=True)
class Pending:
    """One data set waiting to be decoded, with what its datagram and the state said."""

    source: str
    dtype: np.dtype[Any] | None
    """The template's record dtype; None when `cols` were read record by record (a template
    with variable-length fields)."""
    data: bytes
    count: int
    gram: int
    """The datagram's number in the collector's life: records are given in this order."""
    base: int
    """Flows of the datagram before this set: its first record's `Where.item`."""
    offset: int
    vantage: str
    export_ns: int
    uptime_ms: int
    """v5/v9 sysUptime at `export_ns`, the base of their uptime times; -1 for IPFIX."""
    init_ms: int
    """IPFIX systemInitTimeMilliseconds known for the exporter (-1: none)."""
    rate: int | Array
    """The set's sampling rate, or one per record (a record's own interval or sampler)."""
    cols: dict[str, Any] | None = None


def columns(dtype: np.dtype[Any], data: bytes) -> dict[str, Any]:
    """Records of one dtype by role (odd-length integers joined from their bytes)."""
    raw = np.frombuffer(data, dtype, len(data) // dtype.itemsize)
    out: dict[str, Any] = {}
    for role in dtype.names or ():
        value = raw[role]
        out[role] = _joined(value) if value.ndim == 2 else value
    return out


def _joined(value: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint64]:
    out = np.zeros(len(value), np.uint64)
    for i in range(value.shape[1]):
        out = out << np.uint64(8) | value[:, i].astype(np.uint64)
    return out


def flush(pending: Sequence[Pending]) -> Iterator[FlowRecordBatch]:
    """The queued sets as one batch per source, each in the order its records came."""
    by_source: dict[str, list[Pending]] = {}
    for p in pending:
        if p.count:
            by_source.setdefault(p.source, []).append(p)
    for source, sets in by_source.items():
        yield _batch(source, sets)


def _batch(source: str, sets: list[Pending]) -> FlowRecordBatch:
    """The sets of one source: those of one template decoded together."""
    groups: dict[object, list[Pending]] = {}
    for p in sets:
        groups.setdefault(p.dtype if p.dtype is not None else id(p), []).append(p)
    if len(groups) == 1:
        rows, texts, _ = _rows(next(iter(groups.values())))
        return FlowRecordBatch(source, rows, texts)
    table: dict[str, int] = {}
    parts, keys = [], []
    for group in groups.values():
        rows, texts, key = _rows(group)
        remap = np.array([table.setdefault(t, len(table)) for t in texts.tolist()], np.int32)
        for name in ("src", "dst", "vantage"):
            rows[name] = remap[rows[name]]
        parts.append(rows)
        keys.append(key)
    rows = np.concatenate(parts)[np.argsort(np.concatenate(keys), kind="stable")]
    return FlowRecordBatch(source, rows, _objects(list(table)))


def _objects(texts: list[str]) -> npt.NDArray[np.object_]:
    out = np.empty(len(texts), dtype=object)
    out[:] = texts
    return out


def _rows(group: list[Pending]) -> tuple[npt.NDArray[np.void], npt.NDArray[np.object_], Array]:
    """Record rows of sets of one template, their texts (distinct) and their order key."""
    first = group[0]
    if first.dtype is not None:
        c = columns(first.dtype, b"".join(p.data for p in group))
    else:
        c = first.cols or {}
    counts = np.array([p.count for p in group])
    n = int(counts.sum())

    def each(values: Sequence[int]) -> Array:
        return np.repeat(np.array(values, np.int64), counts)

    before = [0, *np.cumsum(counts)[:-1].tolist()]
    item = np.arange(n) - each(before) + each([p.base for p in group])
    export_ns = each([p.export_ns for p in group])
    rates = [p.rate for p in group]
    rate = each(rates) if all(isinstance(r, int) for r in rates) else np.concatenate([  # type: ignore[arg-type]
        np.broadcast_to(np.asarray(p.rate, np.int64), (p.count,)) for p in group])  # fmt: skip
    scale = np.where(rate == 0, 1, rate)
    rows = np.zeros(n, RECORD)
    texts, src, dst = _addresses(c, n)
    vantages = {v: i for i, v in enumerate(sorted({p.vantage for p in group}), len(texts))}
    rows["src"], rows["dst"] = src, dst
    rows["vantage"] = each([vantages[p.vantage] for p in group])
    texts = np.concatenate([texts, _objects(list(vantages))])
    proto = _int(c, "proto", n)
    ported = np.isin(proto, _PORTED)
    rows["proto"] = proto
    rows["sport"] = np.where(ported, _int(c, "sport", n), 0)
    rows["dport"] = np.where(ported, _int(c, "dport", n), 0)
    rows["packets"] = _int(c, "packets" if "packets" in c else "packets_total", n) * scale
    rows["bytes"] = _int(c, "bytes" if "bytes" in c else "bytes_total", n) * scale
    rows["packets_rev"] = _int(c, "packets_rev", n) * scale
    rows["bytes_rev"] = _int(c, "bytes_rev", n) * scale
    rows["tcp_flags"] = _int(c, "tcp_flags", n) & 0xFF
    rows["tcp_flags_rev"] = _int(c, "tcp_flags_rev", n) & 0xFF
    rows["bidirectional"] = "bytes_rev" in c or "packets_rev" in c
    uptime = each([p.uptime_ms for p in group])
    init = _int(c, "init_ms", n) if "init_ms" in c else each([p.init_ms for p in group])
    start = _time(c, START, export_ns, uptime, init)
    end = _time(c, END, export_ns, uptime, init)
    start = end if start is None else start
    end = start if end is None else end
    start = export_ns if start is None else start
    end = export_ns if end is None else end
    rows["first_ns"], rows["last_ns"] = np.minimum(start, end), np.maximum(start, end)
    rows["sampling"] = rate
    rows["offset"], rows["item"] = each([p.offset for p in group]), item
    return rows, texts, each([p.gram for p in group]) << 20 | item


def _int(c: dict[str, Any], role: str, n: int) -> Array:
    value = c.get(role)
    return np.zeros(n, np.int64) if value is None else np.asarray(value).astype(np.int64)


def _addresses(c: dict[str, Any], n: int) -> tuple[npt.NDArray[np.object_], Array, Array]:
    """The records' (source, destination) as indices into texts: IPv6 where the record says
    so or carries only those (or zeros for its IPv4 pair), else IPv4. An address is made
    text once (an exporter's flows have far fewer addresses than records)."""
    has4, has6 = "src4" in c and "dst4" in c, "src6" in c and "dst6" in c
    texts = np.zeros(0, object)
    src = dst = np.zeros(n, np.int64)
    if has4:
        found, codes = np.unique(np.concatenate([c["src4"], c["dst4"]]), return_inverse=True)
        texts = _dotted(found.astype(np.uint32))
        src, dst = codes[:n].astype(np.int64), codes[n:].astype(np.int64)
    if has6:
        version = _int(c, "ip_version", n)
        use6 = np.ones(n, bool) if not has4 else (version == 6) | (
            (version != 4) & (c["src4"] == 0) & (c["dst4"] == 0))  # fmt: skip
        if use6.any():
            found, codes = np.unique(np.concatenate([c["src6"], c["dst6"]]), return_inverse=True)
            codes = codes.astype(np.int64) + len(texts)
            six = [socket.inet_ntop(socket.AF_INET6, bytes(v)) for v in found.tolist()]
            texts = np.concatenate([texts, _objects(six)])
            src, dst = np.where(use6, codes[:n], src), np.where(use6, codes[n:], dst)
    return texts, src, dst


def _dotted(v4: npt.NDArray[np.uint32]) -> npt.NDArray[np.object_]:
    """IPv4 addresses as dotted quads, formatted by Arrow a column at a time."""
    import pyarrow as pa  # here: the CLI starts without Arrow
    import pyarrow.compute as pc

    octets = [pc.cast(pa.array((v4 >> shift) & 0xFF), pa.string()) for shift in (24, 16, 8, 0)]
    out: npt.NDArray[np.object_] = pc.binary_join_element_wise(*octets, ".").to_numpy(
        zero_copy_only=False)  # fmt: skip
    return out


NS_PER_MS = 1_000_000


def _time(c: dict[str, Any], keys: tuple[str, ...], export_ns: Array, uptime: Array,
          init: Array) -> Array | None:  # fmt: skip
    """A flow's start or end in ns since the epoch, from the first field of `keys` (the roles
    of START or END) the template has."""
    ms, s, us, ns, delta, since_up = keys
    if ms in c:
        return _int(c, ms, len(export_ns)) * NS_PER_MS
    if s in c:
        return _int(c, s, len(export_ns)) * 1_000_000_000
    for unit in (us, ns):
        if unit in c:  # NTP: seconds since 1900 . 2**-32 s
            ntp = np.asarray(c[unit]).astype(np.uint64)
            seconds = (ntp >> np.uint64(32)).astype(np.int64) - NTP_EPOCH
            fraction = (ntp & np.uint64(0xFFFF_FFFF)) * np.uint64(10**9) >> np.uint64(32)
            return seconds * 1_000_000_000 + fraction.astype(np.int64)
    if delta in c:
        return export_ns - _int(c, delta, len(export_ns)) * 1000
    if since_up in c:
        v = _int(c, since_up, len(export_ns))
        ago = (uptime - v) & 0xFFFF_FFFF  # v5/v9: ms of sysUptime, the header's at export_ns
        ago -= np.where(ago >= 1 << 31, 1 << 32, 0)
        relative = export_ns - ago * NS_PER_MS
        absolute = np.where(init >= 0, (init + v) * NS_PER_MS, export_ns)  # IPFIX
        return np.where(uptime >= 0, relative, absolute)
    return None
