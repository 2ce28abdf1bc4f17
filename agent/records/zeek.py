"""Zeek conn.log -> FlowRecords: TSV (read by its `#fields` header, with its own separator,
unset and empty markers) or JSON lines (`LogAscii::use_json`).

A conn.log line is a whole conversation from both sides: `orig` is the initiator (fwd) and
`resp` the responder (rev). Bytes are `orig_ip_bytes`/`resp_ip_bytes`, IP bytes as residency
counts them, not `orig_bytes`, which is TCP payload. `proto` is a name: `icmp` is ICMPv6 (58)
when the addresses are IPv6. The `community_id` Zeek logged is kept as given.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from agent.errors import CorruptRecords
from agent.records.fields import Bad, rfc3339_ns, seconds_ns, whole
from agent.records.model import FlowRecord, Where

PROTOS = {"tcp": 6, "udp": 17, "icmp": 1, "sctp": 132}
KEPT = ("uid", "service", "conn_state", "history", "local_orig", "local_resp", "missed_bytes")
"""Fields kept as text for the evidence."""


def parse_zeek_tsv(lines: Iterable[bytes], path: str = "<data>") -> Iterator[FlowRecord]:
    names: list[str] = []
    sep, unset, empty = "\t", "-", "(empty)"
    offset = 0
    for number, raw in enumerate(lines, 1):
        where, offset = Where(line=number, offset=offset), offset + len(raw)
        text = raw.decode("utf-8", "replace").rstrip("\r\n")
        if text.startswith("#"):
            key, _, value = text[1:].partition(" " if text.startswith("#separator") else sep)
            if key == "separator":
                sep = value.encode().decode("unicode_escape")
            elif key == "fields":
                names = value.split(sep)
            elif key == "unset_field":
                unset = value
            elif key == "empty_field":
                empty = value
            continue
        if not text:
            continue
        if not names:
            raise CorruptRecords(path, str(where), "a conn.log record before its #fields line")
        values = text.split(sep)
        if len(values) != len(names):
            few = "few" if len(values) < len(names) else "many"
            raise CorruptRecords(path, str(where), f"too {few} values: {len(values)} for the "
                                 f"{len(names)} #fields")  # fmt: skip
        row = {n: v for n, v in zip(names, values, strict=True) if v not in (unset, empty)}
        yield _checked(row, path, where)


def parse_zeek_json(lines: Iterable[bytes], path: str = "<data>") -> Iterator[FlowRecord]:
    offset = 0
    for number, raw in enumerate(lines, 1):
        where, offset = Where(line=number, offset=offset), offset + len(raw)
        if not raw.strip():
            continue
        try:
            row = json.loads(raw, parse_float=Decimal)
        except ValueError as err:
            raise CorruptRecords(path, str(where), f"not a JSON line: {err}") from err
        if not isinstance(row, dict):
            raise CorruptRecords(path, str(where), "not a JSON object")
        yield _checked(row, path, where)


def _checked(row: Mapping[str, Any], path: str, where: Where) -> FlowRecord:
    try:
        return _record(row, where)
    except Bad as err:
        raise CorruptRecords(path, str(where), str(err)) from err


def _record(row: Mapping[str, Any], where: Where) -> FlowRecord:
    for key in ("ts", "id.orig_h", "id.resp_h", "proto"):
        if key not in row:
            raise Bad(key, "missing")
    ts = row["ts"]
    first = rfc3339_ns(ts, "ts") if isinstance(ts, str) and "T" in ts else seconds_ns(ts, "ts")
    src, dst, name = str(row["id.orig_h"]), str(row["id.resp_h"]), str(row["proto"])
    proto = PROTOS.get(name)
    if proto is None:
        raise Bad("proto", f"{name!r} is not tcp, udp, icmp or sctp")
    proto = 58 if proto == 1 and ":" in src else proto

    def count(key: str) -> int:
        return whole(row[key], key) if key in row else 0

    return FlowRecord(
        source="zeek-conn", vantage=str(row.get("_system_name", row.get("_node_name", ""))),
        proto=proto, src=src, sport=count("id.orig_p"), dst=dst, dport=count("id.resp_p"),
        first_ns=first, last_ns=first + (seconds_ns(row["duration"], "duration")
                                         if "duration" in row else 0),
        packets=count("orig_pkts"), bytes=count("orig_ip_bytes"),
        packets_rev=count("resp_pkts"), bytes_rev=count("resp_ip_bytes"), bidirectional=True,
        community_id=str(row.get("community_id", "")), where=where,
        fields=tuple((k, _text(row[k])) for k in KEPT if k in row),
    )  # fmt: skip


def _text(value: Any) -> str:
    return ("T" if value else "F") if isinstance(value, bool) else str(value)
