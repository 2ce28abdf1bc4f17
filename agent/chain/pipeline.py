"""The one chain both drivers run: record batches -> decoded rows -> flows (+ statistics).

Sans-IO: it is fed batches and returns finished flows; files and sockets stay with the caller.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from agent.capture import PacketSource, RecordBatch
from agent.errors import CaptureError
from agent.flows import FlowTable
from agent.model import COLUMN, CaptureStats, FlowBatch
from agent.names import NameFinder
from agent.wire import rows as D
from agent.wire.decode import Decoder
from agent.wire.reasons import NAMES

if TYPE_CHECKING:  # the filter's compiler loads libpcap: only a run with a filter needs it
    from agent.capture.bpf import Selector

SWEEP_EVERY_NS = 10 * 1_000_000_000


class FlowPipeline:
    def __init__(
        self, idle_timeout: float = 0.0, active_timeout: float = 0.0, names: bool = True,
        selector: Selector | None = None,
    ) -> None:  # fmt: skip
        self.selector = selector
        """The capture filter: records it does not select are counted, never decoded."""
        self.table = FlowTable(idle_timeout, active_timeout)
        self.decoder = Decoder()
        self.stats = CaptureStats()
        self.names = NameFinder(self.stats.untrusted_names) if names else None
        self._swept = 0

    def feed(self, batch: RecordBatch) -> FlowBatch:
        """Account one batch; return the flows that ended in it."""
        self._count_records(batch)
        if self.selector:
            chosen = self.selector.take(batch)
            self.stats.not_selected += batch.size - chosen.size
            batch = chosen
        for rows in self.decoder.decode(batch):
            self.table.add(rows, batch.ts_ns, batch.origlen)
            if self.names:
                self.names.feed(batch, rows)
            self._count_rows(rows)
        timed = self.table.idle or self.table.active
        if timed and self.table.now - self._swept >= SWEEP_EVERY_NS:
            self.table.expire()
            self._swept = self.table.now
        return self._named(self.table.pop_ended())

    def tick(self, now_ns: int) -> FlowBatch:
        """Live mode: time passes without packets too; end the flows idle or active too long
        by `now_ns` (the caller's clock, which stamps the live packets as well)."""
        self.table.expire(max(now_ns, self.table.now))
        return self._named(self.table.pop_ended())

    def next_capture(self) -> CaptureStats:
        """End one capture of a recording: its statistics are returned, and what follows is
        counted afresh. Flows still open stay open, and the names known stay known."""
        done = self.stats
        self.stats = CaptureStats(untrusted_names=done.untrusted_names)  # the names' counter
        done.untrusted_names = Counter(done.untrusted_names)
        self.stats.untrusted_names.clear()
        return done

    def finish(self) -> FlowBatch:
        """End every flow still open (end of capture)."""
        self.table.expire(flush=True)
        return self._named(self.table.pop_ended())

    def _named(self, batch: FlowBatch) -> FlowBatch:
        if self.names is None:
            return batch.with_names([()] * len(batch))
        serial, dst, first = (batch.columns[COLUMN[k]] for k in ("serial", "dst", "first_ns"))
        return batch.with_names(self.names.names_of_flows(serial, dst.tolist(), first))

    def _count_records(self, batch: RecordBatch) -> None:
        s = self.stats
        s.records += batch.size
        if batch.size:
            s.read_to = int(batch.file_offset[-1])
        s.snaplen_cut += int(np.count_nonzero(batch.origlen > batch.caplen))
        first = batch.linktype[:1]
        if batch.size and np.all(batch.linktype == first):  # the usual case, and cheap
            s.link_types[int(first[0])] += batch.size
            return
        kinds, counts = np.unique(batch.linktype, return_counts=True)
        for kind, count in zip(kinds.tolist(), counts.tolist(), strict=True):
            s.link_types[kind] += count

    def _count_rows(self, rows: D.Rows) -> None:
        """A record with a flow row is decoded; one without is skipped under its reason."""
        rec, reason = rows[:, D.REC], rows[:, D.REASON]
        ok = reason == 0
        good = rec[ok]  # records come in order, so distinct records are the steps
        self.stats.decoded += int(np.count_nonzero(np.diff(good))) + 1 if len(good) else 0
        if ok.all():
            return
        bad_rec, bad_reason = rec[~ok], reason[~ok]
        inside = np.isin(bad_rec, good)
        for where, mask in ((self.stats.anomalies, inside), (self.stats.skipped, ~inside)):
            for code in bad_reason[mask].tolist():
                where[NAMES[code]] += 1


def flows_from(
    source: PacketSource, pipeline: FlowPipeline, last: bool = True
) -> Iterator[FlowBatch]:
    """Run a source through the pipeline, yielding flows as they end. If the source turns out
    damaged part-way, the flows read before the damage are still yielded, then the error raised.
    `last=False`: the recording goes on in another source, so flows still open stay open."""
    try:
        for batch in source.batches():
            yield pipeline.feed(batch)
    except CaptureError:
        if last:
            yield pipeline.finish()
        raise
    finally:
        pipeline.stats.warnings.extend(source.warnings)
        pipeline.stats.drops = source.drops
    if last:
        yield pipeline.finish()
