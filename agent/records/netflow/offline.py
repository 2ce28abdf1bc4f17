"""Export datagrams captured in files -> flows, one collector across the files, so the
templates of one file decode the data of the next (as exporters send them: templates now,
data later)."""

from __future__ import annotations

from collections.abc import Collection, Iterator

from agent.capture import open_capture
from agent.errors import CorruptCapture
from agent.model import FlowBatch
from agent.records.netflow.session import Collector
from agent.records.netflow.source import EXPORT_PORTS, export_datagrams

BATCH = 4096


def exported_flows(path: str, collector: Collector,
                   ports: Collection[int] = EXPORT_PORTS) -> Iterator[FlowBatch]:  # fmt: skip
    """The flows the export datagrams in one capture carry, in batches (serials count the
    flows of this file from 1; `BATCH` datagrams are decoded at a time); capture records that
    are not export datagrams are counted in the collector's `skipped`. A capture damaged
    part-way yields what came before, then raises."""
    serial = 1
    skipped: dict[str, int] = {}
    held: list[tuple[bytes, str, int, int]] = []
    damage: CorruptCapture | None = None
    try:
        with open_capture(path) as source:
            for d in export_datagrams(source, ports, skipped):
                held.append(d)
                if len(held) >= BATCH:
                    for batch in collector.collect(held):
                        yield batch.as_flows(serial)
                        serial += len(batch)
                    held = []
    except CorruptCapture as err:
        damage = err
    finally:
        collector.stats.skipped.update({k: v for k, v in skipped.items() if v})
    for batch in collector.collect(held):
        yield batch.as_flows(serial)
        serial += len(batch)
    if damage is not None:
        raise damage
