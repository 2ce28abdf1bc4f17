"""sFlow v5 datagrams -> sampled packet headers, decoded by residency's own packet decoder.

An sFlow agent sends no flows: of every N packets of an interface it sends the first bytes of
one (a raw packet header record inside a flow sample or an expanded flow sample) with N, the
sampling rate. Each header is decoded by the decoder that reads captures (`agent.wire.decode`),
so an sFlow record is read by the same rules as a packet; it stands for N packets of N times
that packet's IP bytes, marked estimated. Counter samples, and flow records other than a raw
header (the decoded forms switches may add), say nothing residency needs and are read past.
The datagram says no calendar time (only the agent's uptime): a record's time is the time the
datagram arrived (the capture's timestamp offline, the collector's clock live). The vantage
point is the agent, its sub-agent and the sample's data source (`agent/sub.ifindex`).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from agent.flows.text import address
from agent.records.batch import RECORD, FlowRecordBatch
from agent.records.netflow.ies import PORTED
from agent.wire import rows as D
from agent.wire.batch import RecordBatch
from agent.wire.cursor import Cursor
from agent.wire.decode import Decoder
from agent.wire.numbers import LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_IPV6

VERSION = b"\0\0\0\x05"
"""sFlow v5's first four bytes (NetFlow's versions are two bytes: 00 05 is v5)."""
LINKTYPE = {1: LINKTYPE_ETHERNET, 11: LINKTYPE_IPV4, 12: LINKTYPE_IPV6}
"""The header protocols residency decodes (ethernet, IPv4, IPv6) -> their LINKTYPE."""
FLOW_SAMPLE, EXPANDED_FLOW_SAMPLE, RAW_HEADER = 1, 3, 1
MAX_HEADER = 1024
"""A sampled header longer than this is not one an agent sends (they send 128 by default)."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One sampled packet header, with what its datagram and sample said."""

    source: str
    """`sflow`, or `ipfix` for a dataLinkFrameSection."""
    header: bytes
    linktype: int
    frame_length: int
    rate: int
    vantage: str
    offset: int
    item: int
    ts_ns: int
    gram: int


def parse_sflow(cur: Cursor, exporter: str, offset: int, ts_ns: int, gram: int,
                skipped: dict[str, int]) -> list[Sample]:  # fmt: skip
    """The sampled headers of one datagram (its version already read); samples and records
    residency does not read are counted in `skipped` by reason."""
    kind = cur.u32("agent address type")
    if kind not in (1, 2):
        raise cur.error(f"agent address type {kind} (1 IPv4, 2 IPv6)")
    raw = cur.bytes(4 if kind == 1 else 16, "agent address")
    agent = socket.inet_ntop(socket.AF_INET if kind == 1 else socket.AF_INET6, raw)
    sub = cur.u32("sub-agent id")
    cur.u32("sequence")
    cur.u32("uptime")
    out: list[Sample] = []
    for _ in range(cur.u32("samples")):
        tag, length = cur.u32("sample format"), cur.u32("sample length")
        s = cur.restrict_to(length, f"sample {tag}")
        if tag not in (FLOW_SAMPLE, EXPANDED_FLOW_SAMPLE):
            skipped["counter_sample" if tag in (2, 4) else "unknown_sample"] += 1
            s.skip(s.remaining)
            continue
        s.u32("sequence")
        if tag == FLOW_SAMPLE:
            source = s.u32("source id") & 0xFF_FFFF
        else:
            s.u32("source id type")
            source = s.u32("source id index")
        rate = s.u32("sampling rate")
        s.skip(16 if tag == FLOW_SAMPLE else 24, "pool, drops, interfaces")
        vantage = f"{agent}/{sub}.{source}"
        header = None
        for _ in range(s.u32("flow records")):
            form, size = s.u32("flow record format"), s.u32("flow record length")
            r = s.restrict_to(size, f"flow record {form}")
            if form == RAW_HEADER and header is None:
                header = _raw_header(r)
            r.skip(r.remaining)
        if header is None or header[0] not in LINKTYPE:
            skipped["no_sampled_header"] += 1
            continue
        proto, frame, data = header
        out.append(Sample("sflow", data, LINKTYPE[proto], frame, rate, vantage, offset,
                          len(out), ts_ns, gram))  # fmt: skip
    return out


def _raw_header(r: Cursor) -> tuple[int, int, bytes]:
    proto, frame = r.u32("header protocol"), r.u32("frame length")
    r.u32("stripped")
    size = r.u32("header length")
    if size > MAX_HEADER:
        raise r.error(f"sampled header of {size} bytes (at most {MAX_HEADER})")
    return proto, frame, r.bytes(size, "sampled header")


def decode_samples(samples: list[Sample], skipped: dict[str, int]) -> list[FlowRecordBatch]:
    """The samples as records, a batch per source, their headers decoded together; a header
    the decoder cannot use (not IP, cut before its transport header) is counted as
    `undecoded_sample`."""
    by_source: dict[str, list[Sample]] = {}
    for s in samples:
        by_source.setdefault(s.source, []).append(s)
    got = [_decoded(some, skipped) for some in by_source.values()]
    return [b for b in got if len(b)]


def _decoded(samples: list[Sample], skipped: dict[str, int]) -> FlowRecordBatch:
    sizes = np.array([len(s.header) for s in samples], np.int64)
    packets = RecordBatch(
        np.frombuffer(b"".join(s.header for s in samples), np.uint8),
        np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64), sizes,
        np.array([s.frame_length for s in samples], np.int64),
        np.array([s.ts_ns for s in samples], np.int64),
        np.array([s.linktype for s in samples], np.int64),
        np.array([s.offset for s in samples], np.int64),
    )  # fmt: skip
    rows = np.concatenate([*Decoder().decode(packets), np.zeros((0, D.N_COLUMNS), np.uint64)])
    rows = rows[(rows[:, D.DEPTH] == 0) & (rows[:, D.REASON] == 0)]
    if len(rows) < len(samples):
        skipped["undecoded_sample"] += len(samples) - len(rows)
    return _records(rows, samples)


def _records(rows: npt.NDArray[np.uint64], samples: list[Sample]) -> FlowRecordBatch:
    n = len(rows)
    took = [samples[i] for i in rows[:, D.REC].tolist()]
    out = np.zeros(n, RECORD)
    words = [tuple(w) for w in rows[:, [D.SRC_HI, D.SRC_LO, D.VERSION]].tolist()]
    words += [tuple(w) for w in rows[:, [D.DST_HI, D.DST_LO, D.VERSION]].tolist()]
    texts: dict[str, int] = {}
    codes = [texts.setdefault(address(*w), len(texts)) for w in words]
    codes += [texts.setdefault(s.vantage, len(texts)) for s in took]
    out["src"], out["dst"], out["vantage"] = codes[:n], codes[n : 2 * n], codes[2 * n :]
    proto = rows[:, D.PROTO].astype(np.int64)
    ported = np.isin(proto, np.array(sorted(PORTED)))
    rate = np.array([s.rate for s in took], np.int64)
    out["proto"], out["tcp_flags"] = proto, rows[:, D.TCP_FLAGS] & 0xFF
    out["sport"] = np.where(ported, rows[:, D.SPORT].astype(np.int64), 0)
    out["dport"] = np.where(ported, rows[:, D.DPORT].astype(np.int64), 0)
    out["packets"], out["bytes"] = np.maximum(rate, 1), rows[:, D.IP_LEN] * np.maximum(rate, 1)
    out["sampling"] = rate
    out["first_ns"] = out["last_ns"] = [s.ts_ns for s in took]
    out["offset"], out["item"] = [s.offset for s in took], [s.item for s in took]
    order = np.lexsort((out["item"], [s.gram for s in took]))
    return FlowRecordBatch(samples[0].source, out[order], _objects(list(texts)))


def _objects(texts: list[Any]) -> npt.NDArray[np.object_]:
    out = np.empty(len(texts), dtype=object)
    out[:] = texts
    return out
