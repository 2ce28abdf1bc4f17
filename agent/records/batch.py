"""Flow records as columns: what the readers hand on, so that a million records cost a few
array operations rather than a million objects.

A `FlowRecordBatch` holds the records of one source format as one numpy structured array (the
`RECORD` dtype: one definition of the layout, read by name), with its text (addresses and
vantage points) held once each in `texts` and referred to by index. `records()` makes the
`FlowRecord` objects for whoever wants them one by one (tests, a record shown as evidence).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from agent.model import FlowBatch
from agent.records.model import Action, Counts, FlowRecord, Where

RECORD = np.dtype([
    ("src", "i4"), ("dst", "i4"), ("vantage", "i4"), ("source", "i4"), ("tag", "i4"),
    ("proto", "i2"), ("sport", "i4"), ("dport", "i4"),
    ("tcp_flags", "i2"), ("tcp_flags_rev", "i2"), ("action", "i1"), ("bidirectional", "?"),
    ("first_ns", "i8"), ("last_ns", "i8"),
    ("packets", "i8"), ("bytes", "i8"), ("packets_rev", "i8"), ("bytes_rev", "i8"),
    ("sampling", "i8"), ("line", "i8"), ("offset", "i8"), ("item", "i8"),
])  # fmt: skip
"""One record. `src`, `dst` and `vantage` index the batch's `texts`; `source` (the format) and
`tag` (the number of the file it came from) are set when batches are read together (`concat`);
`action` indexes `ACTIONS`; `sampling` is as in `FlowRecord` (1 exact, n estimated 1 in n, 0
sampled at an unknown rate); `line`, `offset`, `item` are its `Where`."""
ACTIONS = (Action.UNKNOWN, Action.ACCEPT, Action.REJECT)
ACTION_CODE = {a: i for i, a in enumerate(ACTIONS)}
REJECT = ACTION_CODE[Action.REJECT]

Detail = Callable[[], list[dict[str, Any]]]
"""Per record, the `FlowRecord` fields the columns do not hold (`fields`, `pkt_src`, ...),
worked out only when asked for."""


@dataclass(frozen=True, slots=True)
class FlowRecordBatch:
    source: str
    """The format, as `FlowRecord.source`."""
    rows: npt.NDArray[np.void]
    texts: npt.NDArray[np.object_]
    detail: Detail | None = None
    """For the rows as the reader made them; a batch taken or joined from others has none."""

    def __len__(self) -> int:
        return len(self.rows)

    def records(self) -> Iterator[FlowRecord]:
        extra = self.detail() if self.detail else [{}] * len(self)
        t = self.texts.tolist()
        for r, more in zip(self.rows.tolist(), extra, strict=True):
            (src, dst, vantage, _source, _tag, proto, sport, dport, flags, flags_rev, action, bi,
             first, last, packets, octets, packets_rev, bytes_rev, sampling, line, offset,
             item) = r  # fmt: skip
            yield FlowRecord(
                source=self.source, vantage=t[vantage], proto=proto, src=t[src], sport=sport,
                dst=t[dst], dport=dport, first_ns=first, last_ns=last, packets=packets,
                bytes=octets, packets_rev=packets_rev, bytes_rev=bytes_rev, tcp_flags=flags,
                tcp_flags_rev=flags_rev, bidirectional=bi,
                counts=Counts.EXACT if sampling == 1 else Counts.ESTIMATED, sampling=sampling,
                action=ACTIONS[action], where=Where(line, offset, item), **more,
            )  # fmt: skip

    def as_flows(self, first_serial: int = 1) -> FlowBatch:
        """Each record alone as a flow (`FlowRecord.as_flow`), serials counted from
        `first_serial`."""
        r, n = self.rows, len(self)
        zero = np.zeros(n, np.int64)
        names = np.empty(n, object)
        names[:] = [()] * n
        ints = [r[k].astype(np.int64) for k in (
            "proto", "sport", "dport", "packets", "bytes", "packets_rev", "bytes_rev",
            "first_ns", "last_ns", "tcp_flags", "tcp_flags_rev")]  # fmt: skip
        proto, sport, dport, packets, octets, packets_rev, bytes_rev, first, last, f, fr = ints
        return FlowBatch((
            proto, self.texts[r["src"]], sport, self.texts[r["dst"]], dport, zero, packets,
            octets, zero, packets_rev, bytes_rev, zero, first, last, f, fr,
            np.full(n, "record", object), np.arange(first_serial, first_serial + n), names,
            np.full(n, "first-packet", object),
        ))  # fmt: skip

    def take(self, which: Any) -> FlowRecordBatch:
        return FlowRecordBatch(self.source, self.rows[which], self.texts)

    @classmethod
    def of(cls, records: Sequence[FlowRecord]) -> FlowRecordBatch:
        """A batch of records of one source (the JSON formats' parsers make objects)."""
        texts: dict[str, int] = {}
        rows = np.zeros(len(records), RECORD)
        code = texts.setdefault
        rows[:] = [(
            code(r.src, len(texts)), code(r.dst, len(texts)), code(r.vantage, len(texts)), 0, 0,
            r.proto, r.sport, r.dport, r.tcp_flags, r.tcp_flags_rev, ACTION_CODE[r.action],
            r.bidirectional, r.first_ns, r.last_ns, r.packets, r.bytes, r.packets_rev,
            r.bytes_rev, r.sampling, r.where.line, r.where.offset, r.where.item,
        ) for r in records]  # fmt: skip
        extra = [_extra(r) for r in records]
        return cls(records[0].source if records else "", rows, _texts(texts), lambda: extra)


def _extra(r: FlowRecord) -> dict[str, Any]:
    return {"community_id": r.community_id, "pkt_src": r.pkt_src, "pkt_dst": r.pkt_dst,
            "sublocation": r.sublocation, "direction": r.direction, "fields": r.fields}  # fmt: skip


def _texts(codes: dict[str, int]) -> npt.NDArray[np.object_]:
    out = np.empty(len(codes), dtype=object)
    out[:] = list(codes)
    return out


def concat(batches: Sequence[FlowRecordBatch], tags: Sequence[int]) -> tuple[
        npt.NDArray[np.void], npt.NDArray[np.object_], dict[str, int]]:  # fmt: skip
    """Every batch's rows in one array, each tagged with its batch's tag and source, and their
    texts (the sources' names among them) in one table, one index per distinct text, so that
    equal addresses compare equal across files; and the index of each source's name. (A
    batch's own texts are distinct: readers make them so.)"""
    names = sorted({b.source for b in batches})
    parts = [b.texts for b in batches] + [np.array(names, dtype=object)]
    if len(batches) == 1:  # its texts are distinct already
        texts = np.concatenate(parts)
        codes = np.arange(len(texts), dtype=np.int32)
    else:
        import pyarrow as pa  # here: the CLI starts without Arrow

        every = pa.array(np.concatenate(parts), pa.string()).dictionary_encode()
        texts = every.dictionary.to_numpy(zero_copy_only=False)
        codes = every.indices.to_numpy().astype(np.int32)
    sources = dict(zip(names, codes[len(codes) - len(names) :].tolist(), strict=True))
    rows = np.concatenate([b.rows for b in batches]) if batches else np.zeros(0, RECORD)
    start = offset = 0
    for b, tag in zip(batches, tags, strict=True):
        part = rows[start : start + len(b)]
        if len(batches) > 1:
            remap = codes[offset : offset + len(b.texts)]
            for name in ("src", "dst", "vantage"):
                part[name] = remap[part[name]]
        part["tag"], part["source"] = tag, sources[b.source]
        start, offset = start + len(b), offset + len(b.texts)
    return rows, texts, sources
