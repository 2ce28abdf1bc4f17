"""The collector's state: NetFlow v5, v9 and IPFIX datagrams in, flow records out (sans-IO).

Templates and sampling rates are kept per exporter address and observation domain (v9: source
id), so the templates of one datagram or file decode the data of a later one. A datagram is
hostile input: a short or lying length is a `DecodeError`, caught here, counted and named
(`malformed_datagram`, with its offset); the records decoded before it in that datagram are
kept. Records that are not flows are counted by reason in `ExportStats.skipped`.

Sampling: a data record's own interval (samplingInterval, samplerRandomInterval,
samplingPacketInterval and -Space), else the interval an options record gave its sampler id
(samplerId / selectorId), else the one it gave its template id, else the one it gave the whole
exporter and domain (a scope without either), else 1. The record's packets and bytes are
multiplied by it and marked estimated; a sampler id with no known interval gives `sampling`
0 (sampled, rate unknown) and the counts as read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from agent.records.batch import FlowRecordBatch
from agent.records.model import FlowRecord
from agent.records.netflow.columns import Pending, columns, flush
from agent.records.netflow.ies import FRAME
from agent.records.netflow.sflow import VERSION as SFLOW
from agent.records.netflow.sflow import Sample, decode_samples, parse_sflow
from agent.records.netflow.template import FIRST_DATA_SET, Template, parse_templates, read_variable
from agent.records.netflow.v5 import V5_HEADER, V5_MAX_COUNT, V5_RECORD
from agent.wire.cursor import Cursor, DecodeError
from agent.wire.numbers import LINKTYPE_ETHERNET

MAX_STATE = 1 << 16
"""Templates, and sampling rates, kept at most (over all exporters): a flood of new ones from
a hostile or broken exporter is counted (`state_full`), not stored."""
MAX_ERRORS = 100
"""Malformed datagrams whose reason is kept word for word; the rest are only counted."""
SETS = {9: (0, 1), 10: (2, 3)}
"""Version -> (template set id, options template set id)."""


@dataclass(slots=True)
class ExportStats:
    datagrams: int = 0
    records: int = 0
    """Data records decoded (flows and options records)."""
    flows: int = 0
    options: int = 0
    templates: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    """By reason: `unknown_template` (data sets), `no_flow_key` (records without addresses,
    such as sampled packet headers), `no_counters` (NAT events), `malformed_datagram`,
    `unknown_version`, `reserved_set`, `state_full` (templates or rates past `MAX_STATE`)."""
    rates: Counter[int] = field(default_factory=Counter)
    """Flows by the sampling rate applied (1: exact; 0: sampled at an unknown rate)."""
    errors: list[str] = field(default_factory=list)
    """The first `MAX_ERRORS` malformed datagrams, as `offset N: reason`."""

    def line(self, path: str) -> str:
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(self.skipped.items())) or "none"
        return (f"{path}: {self.datagrams} export datagrams, {self.templates} templates, "
                f"{self.flows} flows, {self.options} options records, "
                f"skipped: {skipped}{_sampled(self.rates)}")  # fmt: skip

    def as_dict(self) -> dict[str, object]:
        return {"datagrams": self.datagrams, "records": self.records, "flows": self.flows,
                "options": self.options, "templates": self.templates,
                "skipped": dict(sorted(self.skipped.items())),
                "rates": {str(k): v for k, v in sorted(self.rates.items())},
                "errors": list(self.errors)}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Message:
    """What a datagram's header says, for the records it carries."""

    source: str
    exporter: str
    domain: int
    export_ns: int
    uptime_ms: int
    """v9 sysUptime, the base of FIRST/LAST_SWITCHED; -1 for IPFIX, which has none."""
    offset: int
    vantage: str
    """`exporter/domain`."""


class Collector:
    """Feed it datagrams with the exporter's address; it returns the flows they gave."""

    def __init__(self) -> None:
        self.stats = ExportStats()
        self._templates: dict[tuple[str, int, int], Template] = {}
        self._rates: dict[tuple[str, int, str, int], int] = {}
        self._init_ms: dict[tuple[str, int], int] = {}
        self._grams = 0
        self._samples: list[Sample] = []
        """Sampled headers of the datagrams being collected (sFlow, IPFIX frames)."""

    def feed(self, data: bytes | memoryview, exporter: str, offset: int = 0,
             ts_ns: int = 0) -> list[FlowRecord]:  # fmt: skip
        """The flows of one export datagram, as records; `offset` (its place in a file) goes
        into their `Where`, `ts_ns` (when it arrived) is the time of sFlow's. Never raises
        for the datagram's content."""
        got = self.collect([(data, exporter, offset, ts_ns)])
        return [r for b in got for r in b.records()]

    def collect(self, datagrams: Iterable[tuple[bytes | memoryview, str, int, int]]
                ) -> list[FlowRecordBatch]:  # fmt: skip
        """The flows of many datagrams (payload, exporter, offset, arrival time), decoded
        together: one batch per source (`netflow-v5`, `netflow-v9`, `ipfix`, `sflow`), each
        in the order they came."""
        pending: list[Pending] = []
        self._samples = []
        for data, exporter, offset, ts_ns in datagrams:
            self._datagram(data, exporter, offset, ts_ns, pending)
        batches = list(flush(pending))
        batches += decode_samples(self._samples, self.stats.skipped)
        self._samples = []
        for b in batches:
            self.stats.flows += len(b)
            rates, counts = np.unique(b.rows["sampling"], return_counts=True)
            self.stats.rates.update(dict(zip(rates.tolist(), counts.tolist(), strict=True)))
        return batches

    def _datagram(self, data: bytes | memoryview, exporter: str, offset: int, ts_ns: int,
                  pending: list[Pending]) -> None:  # fmt: skip
        self.stats.datagrams += 1
        self._grams += 1
        try:
            cur = Cursor(data, "netflow")
            if bytes(data[:4]) == SFLOW:
                cur.u32("version")
                got = parse_sflow(cur, exporter, offset, ts_ns, self._grams, self.stats.skipped)
                self.stats.records += len(got)
                self._samples += got
                return
            version = cur.u16("version")
            if version == 5:
                pending.append(self._v5(cur, exporter, offset))
            elif version in SETS:
                self._sets(cur, version, exporter, offset, pending)
            else:
                self.stats.skipped["unknown_version"] += 1
        except DecodeError as err:
            self.stats.skipped["malformed_datagram"] += 1
            if len(self.stats.errors) < MAX_ERRORS:
                self.stats.errors.append(f"offset {offset}: {err}")

    def _v5(self, cur: Cursor, exporter: str, offset: int) -> Pending:
        count, uptime, secs, nsecs, _seq, etype, eid, sampling = V5_HEADER.unpack(
            cur.bytes(V5_HEADER.size, "v5 header"))  # fmt: skip
        if not 0 < count <= V5_MAX_COUNT:
            raise cur.error(f"v5 record count {count} (1..{V5_MAX_COUNT})")
        body = cur.bytes(count * V5_RECORD.itemsize, f"{count} v5 records")
        self.stats.records += count
        return Pending("netflow-v5", V5_RECORD, body, count, self._grams, 0, offset,
                       f"{exporter}/{etype}.{eid}", secs * 1_000_000_000 + nsecs, uptime, -1,
                       sampling & 0x3FFF or 1)  # fmt: skip

    def _sets(self, cur: Cursor, version: int, exporter: str, offset: int,
              pending: list[Pending]) -> None:  # fmt: skip
        if version == 9:
            cur.u16("count")  # records in the datagram; exporters get it wrong, sets do not
            uptime, secs = cur.u32("sysUptime"), cur.u32("unix seconds")
            cur.u32("sequence")
            body, source = cur, "netflow-v9"
        else:
            length = cur.u16("message length")
            if length < 16:
                raise cur.error(f"message length {length} < 16")
            uptime, secs = -1, cur.u32("export time")
            cur.u32("sequence")
            body, source = cur.restrict_to(length - 12, "message"), "ipfix"
        domain = body.u32("domain")
        msg = Message(source, exporter, domain, secs * 1_000_000_000, uptime, offset,
                      f"{exporter}/{domain}")  # fmt: skip
        template_set, options_set = SETS[version]
        flows = [0]
        while body.remaining >= 4:
            sid, length = body.u16("set id"), body.u16("set length")
            if length < 4:
                raise body.error(f"set {sid}: length {length} < 4")
            s = body.restrict_to(length - 4, f"set {sid}")
            if sid in (template_set, options_set):
                for t in parse_templates(s, version == 10, sid == options_set):
                    self._learn(msg, t)
            elif sid >= FIRST_DATA_SET:
                self._data(s, sid, msg, pending, flows)
            else:
                self.stats.skipped["reserved_set"] += 1

    def _learn(self, msg: Message, t: Template) -> None:
        key = (msg.exporter, msg.domain, t.id)
        if not t.fields:
            self._templates.pop(key, None)
        elif _room(self._templates, key, self.stats):
            self._templates[key] = t
            self.stats.templates += 1

    def _data(self, s: Cursor, sid: int, msg: Message, pending: list[Pending],
              flows: list[int]) -> None:  # fmt: skip
        """Queue one data set (`flows[0]`: flows of the datagram before it); options records
        are taken in now, as they set the sampling of what follows."""
        t = self._templates.get((msg.exporter, msg.domain, sid))
        if t is None or t.layout is None:
            self.stats.skipped["unknown_template"] += 1
            s.skip(s.remaining)
            return
        lay = t.layout
        cols: dict[str, Any] | None = None
        damage: DecodeError | None = None
        if lay.dtype is not None:
            n = s.remaining // lay.size
            data = s.bytes(n * lay.size, "records")
        else:
            data, values = b"", []
            try:
                while s.remaining >= lay.size:
                    values.append(read_variable(s, lay))
            except DecodeError as err:  # the records read before it count
                damage = err
            n, cols = len(values), _variable_columns(lay.roles, values)
        if damage is None:
            s.skip(s.remaining)  # padding
        self._queue(t, data, cols, n, sid, msg, pending, flows)
        if damage is not None:
            raise damage

    def _queue(self, t: Template, data: bytes, cols: dict[str, Any] | None, n: int, sid: int,
               msg: Message, pending: list[Pending], flows: list[int]) -> None:  # fmt: skip
        lay = t.layout
        assert lay is not None
        self.stats.records += n
        if not n:
            return
        roles = set(lay.roles)
        if t.options:
            self._options(lay.dtype, data, cols, msg)
            return
        keyed = {"src4", "dst4"} <= roles or {"src6", "dst6"} <= roles
        if not keyed and FRAME not in roles:
            self.stats.skipped["no_flow_key"] += n
            return
        if keyed and not roles & {"packets", "packets_total", "bytes", "bytes_total"}:
            self.stats.skipped["no_counters"] += n
            return
        if "interval" in roles or "sampler" in roles:
            rate: int | npt.NDArray[np.int64] = self._own_rates(
                cols if cols is not None else columns(lay.dtype, data), sid, msg)  # type: ignore[arg-type]  # fmt: skip
        else:
            rate = self._sampling({}, sid, msg)
        if not keyed:  # a sampled frame: decoded as a packet, as sFlow's are
            self._frames(cols if cols is not None else columns(lay.dtype, data), n, rate, msg,  # type: ignore[arg-type]
                         flows[0])  # fmt: skip
            flows[0] += n
            return
        init = self._init_ms.get((msg.exporter, msg.domain), -1)
        pending.append(Pending(msg.source, lay.dtype, data, n, self._grams, flows[0],
                               msg.offset, msg.vantage, msg.export_ns, msg.uptime_ms, init,
                               rate, cols))  # fmt: skip
        flows[0] += n

    def _frames(self, c: dict[str, Any], n: int, rate: int | npt.NDArray[np.int64],
                msg: Message, base: int) -> None:  # fmt: skip
        frames = [bytes(f) for f in (c[FRAME] if isinstance(c[FRAME], list) else c[FRAME].tolist())]
        size = c.get("frame_size")
        sizes = [len(f) for f in frames] if size is None else np.asarray(size).tolist()
        rates = np.broadcast_to(np.asarray(rate), (n,)).tolist()
        self._samples += [
            Sample(msg.source, f, LINKTYPE_ETHERNET, z, r, msg.vantage, msg.offset, base + i,
                   msg.export_ns, self._grams)
            for i, (f, z, r) in enumerate(zip(frames, sizes, rates, strict=True))]  # fmt: skip

    def _options(self, dtype: np.dtype[Any] | None, data: bytes, cols: dict[str, Any] | None,
                 msg: Message) -> None:  # fmt: skip
        c = cols if cols is not None else columns(dtype, data)  # type: ignore[arg-type]
        names = list(c)
        for values in zip(*(np.asarray(c[k]).tolist() for k in names), strict=True):
            self._option(dict(zip(names, values, strict=True)), msg)

    def _option(self, r: dict[str, Any], msg: Message) -> None:
        self.stats.options += 1
        domain = r.get("domain", msg.domain)
        if "init_ms" in r:
            self._init_ms[msg.exporter, domain] = r["init_ms"]
        rate = _rate(r)
        if not rate:
            return
        if r.get("sampler"):
            key = (msg.exporter, domain, "sampler", int(r["sampler"]))
        elif "template" in r:
            key = (msg.exporter, domain, "template", int(r["template"]))
        else:
            key = (msg.exporter, domain, "sampler", 0)
        if _room(self._rates, key, self.stats):
            self._rates[key] = rate

    def _own_rates(self, c: dict[str, Any], sid: int, msg: Message) -> npt.NDArray[np.int64]:
        """Per record, its sampling rate: its own interval, else its sampler's (as
        `_sampling` says)."""
        n = len(next(iter(c.values())))
        interval = np.asarray(c.get("interval", np.zeros(n))).astype(np.int64)
        space = np.asarray(c.get("space", np.zeros(n))).astype(np.int64)
        own = np.where(space > 0, (interval + space) // np.maximum(interval, 1), interval)
        sampler = np.asarray(c.get("sampler", np.zeros(n))).astype(np.int64)
        found = {v: self._sampling({"sampler": v}, sid, msg) for v in np.unique(sampler).tolist()}
        theirs = np.array([found[v] for v in sampler.tolist()], np.int64)
        return np.where(own > 0, own, theirs)

    def _sampling(self, r: dict[str, Any], sid: int, msg: Message) -> int:
        own = _rate(r)
        if own:
            return own
        ex, dom, rates = msg.exporter, msg.domain, self._rates
        sampler = r.get("sampler", 0)
        found = (rates.get((ex, dom, "sampler", sampler)) if sampler else None) or rates.get(
            (ex, dom, "template", sid)) or rates.get((ex, dom, "sampler", 0))  # fmt: skip
        return found or (0 if sampler else 1)


def _variable_columns(roles: tuple[str, ...], values: list[list[Any]]) -> dict[str, Any]:
    """Records read one by one, as the columns `columns` gives for a fixed template."""
    out: dict[str, Any] = {}
    for i, role in enumerate(roles):
        column = [v[i] for v in values]
        if role in ("src4", "dst4"):
            out[role] = np.array([int.from_bytes(b) for b in column], np.uint32)
        elif role in ("src6", "dst6"):
            out[role] = np.frombuffer(b"".join(column), "V16")
        elif role == FRAME:
            out[role] = column
        else:
            out[role] = np.array(column, np.uint64)
    return out


def _room(state: dict[Any, Any], key: object, stats: ExportStats) -> bool:
    """Whether `key` may be stored: it is there already, or the state is not full."""
    if key in state or len(state) < MAX_STATE:
        return True
    stats.skipped["state_full"] += 1
    return False


def _sampled(rates: Counter[int]) -> str:
    parts = [f"{n} at 1 in {rate}" if rate else f"{n} at an unknown rate"
             for rate, n in sorted(rates.items()) if rate != 1]  # fmt: skip
    return f"; sampled flows (counts scaled): {', '.join(parts)}" if parts else ""


def _rate(r: dict[str, Any]) -> int:
    """The sampling interval a record states (0: none): 1 in `interval`, or for systematic
    count-based sampling (RFC 5476) `interval` packets taken of every `interval + space`."""
    interval = r.get("interval", 0)
    if not interval:
        return 0
    space = r.get("space", 0)
    return int((interval + space) // interval) if space else int(interval)
