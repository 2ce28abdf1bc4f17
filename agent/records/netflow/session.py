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

import socket
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from agent.records.model import Counts, FlowRecord, Where
from agent.records.netflow.ies import NTP_EPOCH, PORTED
from agent.records.netflow.template import FIRST_DATA_SET, Template, parse_templates, read_variable
from agent.records.netflow.v5 import parse_v5
from agent.wire.cursor import Cursor, DecodeError

MAX_STATE = 1 << 16
"""Templates, and sampling rates, kept at most (over all exporters): a flood of new ones from
a hostile or broken exporter is counted (`state_full`), not stored."""
MAX_ERRORS = 100
"""Malformed datagrams whose reason is kept word for word; the rest are only counted."""
ZERO4 = bytes(4)
SETS = {9: (0, 1), 10: (2, 3)}
START, END = (tuple(f"{end}_{unit}" for unit in ("ms", "s", "us", "ns", "delta_us", "uptime"))
              for end in ("start", "end"))  # fmt: skip
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
    """Feed it datagrams with the exporter's address; it returns the flows each one gave."""

    def __init__(self) -> None:
        self.stats = ExportStats()
        self._templates: dict[tuple[str, int, int], Template] = {}
        self._rates: dict[tuple[str, int, str, int], int] = {}
        self._init_ms: dict[tuple[str, int], int] = {}

    def feed(self, data: bytes | memoryview, exporter: str, offset: int = 0) -> list[FlowRecord]:
        """The flows of one export datagram; `offset` (its place in a file) goes into their
        `Where`. Never raises for the datagram's content."""
        self.stats.datagrams += 1
        out: list[FlowRecord] = []
        try:
            cur = Cursor(data, "netflow")
            version = cur.u16("version")
            if version == 5:
                out.extend(parse_v5(cur, exporter, offset))
                self.stats.records += len(out)
            elif version in SETS:
                self._sets(cur, version, exporter, offset, out)
            else:
                self.stats.skipped["unknown_version"] += 1
        except DecodeError as err:
            self.stats.skipped["malformed_datagram"] += 1
            if len(self.stats.errors) < MAX_ERRORS:
                self.stats.errors.append(f"offset {offset}: {err}")
        self.stats.flows += len(out)
        self.stats.rates.update(r.sampling for r in out)
        return out

    def _sets(self, cur: Cursor, version: int, exporter: str, offset: int,
              out: list[FlowRecord]) -> None:  # fmt: skip
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
        while body.remaining >= 4:
            sid, length = body.u16("set id"), body.u16("set length")
            if length < 4:
                raise body.error(f"set {sid}: length {length} < 4")
            s = body.restrict_to(length - 4, f"set {sid}")
            if sid in (template_set, options_set):
                for t in parse_templates(s, version == 10, sid == options_set):
                    self._learn(msg, t)
            elif sid >= FIRST_DATA_SET:
                self._data(s, sid, msg, out)
            else:
                self.stats.skipped["reserved_set"] += 1

    def _learn(self, msg: Message, t: Template) -> None:
        key = (msg.exporter, msg.domain, t.id)
        if not t.fields:
            self._templates.pop(key, None)
        elif _room(self._templates, key, self.stats):
            self._templates[key] = t
            self.stats.templates += 1

    def _data(self, s: Cursor, sid: int, msg: Message, out: list[FlowRecord]) -> None:
        t = self._templates.get((msg.exporter, msg.domain, sid))
        if t is None or t.layout is None:
            self.stats.skipped["unknown_template"] += 1
            s.skip(s.remaining)
            return
        lay = t.layout
        if lay.unpack is not None:
            n = s.remaining // lay.size
            rows: Any = lay.unpack.iter_unpack(s.bytes(n * lay.size, "records"))
        else:
            rows = (read_variable(s, lay) for _ in iter(lambda: s.remaining >= lay.size, False))
        roles, odd = lay.roles, lay.odd
        own = None if "interval" in roles or "sampler" in roles else self._sampling({}, sid, msg)
        for values in rows:
            r = dict(zip(roles, values, strict=True))
            for i in odd:
                r[roles[i]] = int.from_bytes(values[i])
            self.stats.records += 1
            if t.options:
                self._option(r, msg)
            elif (rec := self._flow(r, sid, msg, len(out), own)) is not None:
                out.append(rec)
        s.skip(s.remaining)  # padding

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

    def _sampling(self, r: dict[str, Any], sid: int, msg: Message) -> int:
        own = _rate(r)
        if own:
            return own
        ex, dom, rates = msg.exporter, msg.domain, self._rates
        sampler = r.get("sampler", 0)
        found = (rates.get((ex, dom, "sampler", sampler)) if sampler else None) or rates.get(
            (ex, dom, "template", sid)) or rates.get((ex, dom, "sampler", 0))  # fmt: skip
        return found or (0 if sampler else 1)

    def _flow(self, r: dict[str, Any], sid: int, msg: Message, item: int,
              rate: int | None) -> FlowRecord | None:  # fmt: skip
        """One flow record; `rate` is the data set's sampling rate when no record of its
        template can name its own (None: look it up for this record)."""
        ends = _addresses(r)
        if ends is None:
            self.stats.skipped["no_flow_key"] += 1
            return None
        packets = r.get("packets", r.get("packets_total"))
        octets = r.get("bytes", r.get("bytes_total"))
        if packets is None and octets is None:
            self.stats.skipped["no_counters"] += 1
            return None
        rate = self._sampling(r, sid, msg) if rate is None else rate
        scale = rate or 1
        first, last = self._time(r, msg, START), self._time(r, msg, END)
        first, last = first if first is not None else last, last if last is not None else first
        if first is None or last is None:
            first = last = msg.export_ns
        rev = "bytes_rev" in r or "packets_rev" in r
        proto = r.get("proto", 0)
        sport, dport = (r.get("sport", 0), r.get("dport", 0)) if proto in PORTED else (0, 0)
        return FlowRecord(
            source=msg.source, vantage=msg.vantage, proto=proto,
            src=ends[0], sport=sport, dst=ends[1], dport=dport,
            first_ns=min(first, last), last_ns=max(first, last),
            packets=(packets or 0) * scale, bytes=(octets or 0) * scale,
            packets_rev=r.get("packets_rev", 0) * scale, bytes_rev=r.get("bytes_rev", 0) * scale,
            tcp_flags=r.get("tcp_flags", 0) & 0xFF, tcp_flags_rev=r.get("tcp_flags_rev", 0) & 0xFF,
            bidirectional=rev, counts=Counts.EXACT if rate == 1 else Counts.ESTIMATED,
            sampling=rate, where=Where(offset=msg.offset, item=item),
        )  # fmt: skip

    def _time(self, r: dict[str, Any], msg: Message, keys: tuple[str, ...]) -> int | None:
        """A flow's start or end in ns since the epoch, from whichever field the template has
        (`keys`: the roles of START or END)."""
        ms, s, us, ns, delta, uptime = keys
        if (v := r.get(ms)) is not None:
            return int(v) * 1_000_000
        if (v := r.get(s)) is not None:
            return int(v) * 1_000_000_000
        for unit in (us, ns):
            if (v := r.get(unit)) is not None:  # NTP: seconds since 1900 . 2**-32 s
                return int(((v >> 32) - NTP_EPOCH) * 10**9 + ((v & 0xFFFF_FFFF) * 10**9 >> 32))
        if (v := r.get(delta)) is not None:
            return msg.export_ns - int(v) * 1000
        if (v := r.get(uptime)) is not None:
            if msg.uptime_ms >= 0:  # v9: ms of sysUptime, which the header gives for its time
                ago: int = (msg.uptime_ms - v) & 0xFFFF_FFFF
                ago -= 1 << 32 if ago >= 1 << 31 else 0
                return msg.export_ns - ago * 1_000_000
            init = r.get("init_ms", self._init_ms.get((msg.exporter, msg.domain)))
            return int(init + v) * 1_000_000 if init is not None else msg.export_ns
        return None


_text = socket.inet_ntop


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


def _addresses(r: dict[str, Any]) -> tuple[str, str] | None:
    """The record's (source, destination), IPv6 when it says so or carries only those."""
    version = r.get("ip_version")
    has4 = "src4" in r and "dst4" in r
    if (
        "src6" in r
        and "dst6" in r
        and (version == 6 or not has4 or (version != 4 and r["src4"] == ZERO4 == r["dst4"]))
    ):
        return _text(socket.AF_INET6, r["src6"]), _text(socket.AF_INET6, r["dst6"])
    if has4:
        return _text(socket.AF_INET, r["src4"]), _text(socket.AF_INET, r["dst4"])
    return None
