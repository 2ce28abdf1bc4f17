"""Export datagrams captured in files -> flow records, one collector across the files, so the
templates of one file decode the data of the next (as exporters send them: templates now,
data later); and how a capture that holds nothing but export datagrams is told by content."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING

import numpy as np

from agent.capture import open_capture
from agent.capture.source import PROBE_BYTES
from agent.errors import CorruptCapture
from agent.model import FlowBatch
from agent.records.batch import FlowRecordBatch
from agent.records.netflow.session import Collector
from agent.records.netflow.sflow import VERSION as SFLOW
from agent.records.netflow.source import EXPORT_PORTS, export_datagrams
from agent.wire import rows as D
from agent.wire.decode import Decoder

if TYPE_CHECKING:
    from agent.capture.bpf import Selector

BATCH = 4096
"""Datagrams decoded together."""


def exported_flows(path: str, collector: Collector, ports: Collection[int] = EXPORT_PORTS,
                   selector: Selector | None = None) -> Iterator[FlowBatch]:  # fmt: skip
    """The flows the export datagrams in one capture carry (of the capture records `selector`
    selects), each record one (serials count the flows of this file from 1)."""
    serial = 1
    for batch in exported_records(path, collector, ports, selector):
        yield batch.as_flows(serial)
        serial += len(batch)


def exported_records(
    path: str, collector: Collector, ports: Collection[int] = EXPORT_PORTS,
    selector: Selector | None = None,
) -> Iterator[FlowRecordBatch]:  # fmt: skip
    """The records the export datagrams in one capture carry (`BATCH` datagrams decoded at a
    time); capture records that are not export datagrams are counted in the collector's
    `skipped`. A capture damaged part-way yields what came before, then raises."""
    skipped: dict[str, int] = {}
    held: list[tuple[bytes, str, int, int]] = []
    damage: CorruptCapture | None = None
    try:
        with open_capture(path) as source:
            for d in export_datagrams(source, ports, skipped, selector):
                held.append(d)
                if len(held) >= BATCH:
                    yield from collector.collect(held)
                    held = []
    except CorruptCapture as err:
        damage = err
    finally:
        collector.stats.skipped.update({k: v for k, v in skipped.items() if v})
    yield from collector.collect(held)
    if damage is not None:
        raise damage


def export_ports(path: str) -> frozenset[int] | None:
    """The ports a capture's datagrams were sent to when every packet of its first batch is a
    UDP datagram that begins as NetFlow v5/v9, IPFIX or sFlow v5 does (a capture of exports,
    to be read as flow records); None for any other capture."""
    with open_capture(path, window=PROBE_BYTES) as source:
        batch = next(iter(source.batches()), None)
        if batch is None or not batch.size:
            return None
        rows = np.concatenate(list(Decoder().decode(batch)))
    outer = rows[rows[:, D.DEPTH] == 0]
    if len(outer) != batch.size or (outer[:, D.REASON] != 0).any() or (
            outer[:, D.PROTO] != 17).any():  # fmt: skip
        return None
    for start, length in outer[:, [D.PAYLOAD, D.PAYLOAD_LEN]].tolist():
        if not looks_exported(bytes(batch.data[start : start + length])):
            return None
    return frozenset(outer[:, D.DPORT].tolist())


def looks_exported(d: bytes) -> bool:
    """Whether a datagram's lengths add up as an export datagram's do: NetFlow v5's count of
    48-byte records, the sets of v9 and IPFIX (and IPFIX's message length) each to its last
    byte, sFlow's samples. (A DNS message with ID 5 begins as v5 does; its lengths do not.)"""
    n = len(d)
    if d[:4] == SFLOW and n >= 28 and _word(d, 4, 4) in (1, 2):
        at = 24 if _word(d, 4, 4) == 1 else 36  # the sample count, after the agent address
        return _walks(d, at + 4, 4, _word(d, at, 4))
    if n < 20:
        return False
    version, count = _word(d, 0, 2), _word(d, 2, 2)
    if version == 5:
        return 0 < count <= 30 and n == 24 + 48 * count
    if version == 10:
        return count == n and _walks(d, 16, 2)  # IPFIX: the message length
    return version == 9 and _walks(d, 20, 2)


def _word(d: bytes, at: int, size: int) -> int:
    return int.from_bytes(d[at : at + size])


def _walks(d: bytes, pos: int, size: int, count: int = -1) -> bool:
    """Whether blocks of (id, length) with `size`-byte fields, from `pos`, end at the end; or,
    when `count` is given (sFlow's samples, whose lengths leave out their own header), whether
    that many fit."""
    header = 2 * size
    while pos + header <= len(d) and count != 0:
        length = int.from_bytes(d[pos + size : pos + header])
        step = header + length if size == 4 else length
        if step < header:
            return False
        pos, count = pos + step, count - 1
    return pos == len(d) if count < 0 else count == 0 and pos <= len(d)
