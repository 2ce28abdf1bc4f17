"""Flows and statistics as text: an aligned table, JSON Lines, or CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import TextIO

from agent.model import TCP_FLAGS_TEXT, CaptureStats, Flow, seconds

PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 41: "ipv6", 47: "gre", 58: "icmp6", 132: "sctp"}


def endpoint(addr: str, port: int) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def json_line(f: Flow, capture: str) -> str:
    """One flow as a JSON object (`capture` already JSON-encoded): built by hand because
    `json.dumps` of a dict per flow was most of the run time on captures with many flows."""
    return (
        f'{{"capture": {capture}, "proto": {f.proto}, "src": "{f.src}", "sport": {f.sport}, '
        f'"dst": "{f.dst}", "dport": {f.dport}, "depth": {f.depth}, '
        f'"packets_fwd": {f.packets_fwd}, "bytes_fwd": {f.bytes_fwd}, '
        f'"frame_bytes_fwd": {f.frame_bytes_fwd}, "packets_rev": {f.packets_rev}, '
        f'"bytes_rev": {f.bytes_rev}, "frame_bytes_rev": {f.frame_bytes_rev}, '
        f'"first": {seconds(f.first_ns)}, "last": {seconds(f.last_ns)}, '
        f'"first_ns": {f.first_ns}, "last_ns": {f.last_ns}, '
        f'"tcp_flags_fwd": "{TCP_FLAGS_TEXT[f.tcp_flags_fwd]}", '
        f'"tcp_flags_rev": "{TCP_FLAGS_TEXT[f.tcp_flags_rev]}", "end": "{f.end}"}}\n'
    )


def write_jsonl(flows: Iterable[Flow], out: TextIO, capture: str) -> None:
    name = json.dumps(capture)
    out.writelines(json_line(f, name) for f in flows)


def write_csv(flows: Iterable[Flow], out: TextIO, capture: str, header: bool) -> None:
    w = csv.writer(out, lineterminator="\n")
    names = ["capture", *Flow._fields, "first", "last"]
    if header:
        w.writerow(names)
    for f in flows:
        flags = TCP_FLAGS_TEXT[f.tcp_flags_fwd], TCP_FLAGS_TEXT[f.tcp_flags_rev]
        w.writerow([capture, *f[:-3], *flags, f.end, seconds(f.first_ns), seconds(f.last_ns)])


def write_table(flows: Iterable[Flow], out: TextIO) -> None:
    out.write(f"{'proto':<6}{'initiator':>26}    {'responder':<26}{'pkts>':>7}{'bytes>':>10}"
              f"{'<pkts':>7}{'<bytes':>10}{'secs':>9}  tcp\n")  # fmt: skip
    for f in flows:
        proto = PROTO_NAMES.get(f.proto, str(f.proto)) + ("^" * f.depth)
        ported = f.proto in (6, 17, 132)
        src = endpoint(f.src, f.sport) if ported else f.src
        dst = endpoint(f.dst, f.dport) if ported else f.dst
        secs = (f.last_ns - f.first_ns) / 1e9
        flags = TCP_FLAGS_TEXT[f.tcp_flags_fwd | f.tcp_flags_rev] if f.proto == 6 else ""
        out.write(
            f"{proto:<6}{src:>26} -> {dst:<26}{f.packets_fwd:>7}{f.bytes_fwd:>10}"
            f"{f.packets_rev:>7}{f.bytes_rev:>10}{secs:>9.3f}  {flags}".rstrip()
            + "\n"
        )


def stats_line(path: str, s: CaptureStats) -> str:
    skipped = ", ".join(f"{k} {v}" for k, v in sorted(s.skipped.items())) or "none"
    line = f"{path}: {s.records} records read, {s.decoded} decoded, skipped: {skipped}"
    if s.anomalies:
        line += "; inside decoded records: " + ", ".join(
            f"{k} {v}" for k, v in sorted(s.anomalies.items())
        )
    if s.snaplen_cut:
        line += f"; {s.snaplen_cut} cut short by the snaplen (counted at their wire length)"
    return line
