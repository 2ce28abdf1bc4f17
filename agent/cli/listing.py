"""Flows and statistics as text: an aligned table, JSON Lines, or CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO, TypeVar

import numpy as np

from agent.flows import text
from agent.flows.text import INT_FIELDS, STR_FIELDS
from agent.model import (
    COLUMN,
    TCP_FLAGS_TEXT,
    CaptureStats,
    Flow,
    FlowBatch,
    clock,
    seconds,
)  # fmt: skip
from agent.wire.keywords import proto_name

T = TypeVar("T")


def records(batches: Iterable[FlowBatch]) -> Iterator[Flow]:
    for batch in batches:
        yield from batch.records()


def endpoint(addr: str, port: int) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def json_lines(batch: FlowBatch, capture: str) -> str:
    """The batch as JSON objects, one line each, written by compiled code (`flows.text`). Times
    are also decimal seconds in strings with all nine digits, as in the analysis document: a
    float would lose them."""
    cols = batch.columns
    ints = np.array([cols[COLUMN[f]] for f in INT_FIELDS], np.int64)
    names = cols[COLUMN["names"]].tolist()
    texts = {ns: json.dumps([{"source": s, "name": n} for s, n in ns]) for ns in set(names)}
    names = [texts[ns] for ns in names]  # flows share names: each set is written once
    strings = tuple(names if f == "names" else list(cols[COLUMN[f]]) for f in STR_FIELDS)
    lines: str = text.json_lines(json.dumps(capture), ints, strings)
    return lines


def write_jsonl(batches: Iterable[tuple[FlowBatch, str]], out: TextIO) -> None:
    """Each batch with the capture (or journal) its flows came from."""
    for batch, capture in batches:
        for part in batch.slices(8192):
            out.write(json_lines(part, capture))


def write_csv(batches: Iterable[tuple[FlowBatch, str]], out: TextIO) -> None:
    """One header row, then each batch with the capture (or journal) its flows came from."""
    w = csv.writer(out, lineterminator="\n")
    for batch, capture in headed(batches, lambda: w.writerow(["capture", *Flow._fields, "first",
                                                              "last"])):  # fmt: skip
        for f in batch.records():
            flags = TCP_FLAGS_TEXT[f.tcp_flags_fwd], TCP_FLAGS_TEXT[f.tcp_flags_rev]
            names = " ".join(f"{source}:{name}" for source, name in f.names)
            row = [capture, *f[: COLUMN["tcp_flags_fwd"]], *flags, f.end, f.serial, names]
            w.writerow([*row, f.direction, seconds(f.first_ns), seconds(f.last_ns)])


TABLE_HEAD = (f"{'start (UTC)':<26}{'proto':<6}{'initiator':>26}    {'responder':<26}"
              f"{'pkts>':>7}{'bytes>':>10}{'<pkts':>7}{'<bytes':>10}{'secs':>9}  tcp  "
              f"{'by':<13}")  # fmt: skip


def headed(items: Iterable[T], head: Callable[[], object]) -> Iterator[T]:
    """The items, with `head` called just before the first (or at the end, when there are
    none): input that cannot be read at all leaves the output empty."""
    started = False
    for item in items:
        if not started:
            head()
            started = True
        yield item
    if not started:
        head()


def write_table(
    batches: Iterable[tuple[FlowBatch, str]], out: TextIO, captures: bool = False
) -> None:
    """An aligned table, a flow a line; with `captures`, a column before the names says in which
    capture each flow began (for several files)."""
    head = TABLE_HEAD + ("capture  " if captures else "") + "names"
    for batch, capture in headed(batches, lambda: out.write(head + "\n")):
        where = f"{capture}  " if captures else ""
        for f in batch.records():
            proto = proto_name(f.proto) + ("^" * f.depth)
            ported = f.proto in (6, 17, 132)
            src = endpoint(f.src, f.sport) if ported else f.src
            dst = endpoint(f.dst, f.dport) if ported else f.dst
            secs = (f.last_ns - f.first_ns) / 1e9
            flags = TCP_FLAGS_TEXT[f.tcp_flags_fwd | f.tcp_flags_rev] if f.proto == 6 else ""
            names = " ".join(sorted({name for _, name in f.names}))
            out.write(
                f"{clock(f.first_ns):<26}{proto:<6}{src:>26} -> {dst:<26}{f.packets_fwd:>7}"
                f"{f.bytes_fwd:>10}{f.packets_rev:>7}{f.bytes_rev:>10}{secs:>9.3f}  {flags:<5}"
                f"{f.direction:<13}{where}{names}".rstrip()
                + "\n"
            )


def write_zeek(batches: Iterable[tuple[FlowBatch, str]], out: TextIO, as_json: bool) -> None:
    """A Zeek conn.log: TSV under its header lines, or Zeek's JSON lines. Flows of protocols
    a conn.log has no name for (GRE, an IP-in-IP carrier) are left out, as Zeek leaves them."""
    from agent.records.zeek import CONN_HEADER, ZEEK_PROTOS, conn_json, conn_row, conn_tsv

    if not as_json:
        out.write(CONN_HEADER)
    line = conn_json if as_json else conn_tsv
    for batch, capture in batches:
        named = (f for f in batch.records() if f.proto in ZEEK_PROTOS)
        out.writelines(line(conn_row(f, capture)) for f in named)


def stats_line(path: str, s: CaptureStats) -> str:
    skipped = ", ".join(f"{k} {v}" for k, v in sorted(s.skipped.items())) or "none"
    chosen = f", {s.not_selected} not selected by the filter" if s.not_selected else ""
    line = f"{path}: {s.records} records read{chosen}, {s.decoded} decoded, skipped: {skipped}"
    if s.anomalies:
        line += "; inside decoded records: " + ", ".join(
            f"{k} {v}" for k, v in sorted(s.anomalies.items())
        )
    if s.snaplen_cut:
        line += f"; {s.snaplen_cut} cut short by the snaplen (counted at their wire length)"
    return line


def stats_section(path: str, s: CaptureStats) -> str:
    """The full statistics, one fact a line, for `--stats`."""
    lines = [f"{path}:", f"  records read       {s.records}"]
    if s.not_selected:
        lines.append(f"  not selected       {s.not_selected} (by the filter)")
    lines.append(f"  decoded            {s.decoded}")
    lines += [f"  skipped {k:<26} {v}" for k, v in sorted(s.skipped.items())]
    lines += [f"  inside decoded: {k:<19} {v}" for k, v in sorted(s.anomalies.items())]
    lines.append(f"  cut by snaplen     {s.snaplen_cut} (counted at their wire length)")
    lines += [f"  link type {k:<8} {v} records" for k, v in sorted(s.link_types.items())]
    lines += [f"  untrusted names {k:<10} {v}" for k, v in sorted(s.untrusted_names.items())]
    return "\n".join(lines)
