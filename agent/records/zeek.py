"""Zeek conn.log <-> residency: conn.logs read into FlowRecords (TSV by its `#fields` header,
with its own separator, unset and empty markers, or JSON lines, `LogAscii::use_json`), and
residency's flows written as conn.logs (`flows --format zeek`), so Zeek tooling reads them.

A conn.log line is a whole conversation from both sides: `orig` is the initiator (fwd) and
`resp` the responder (rev). Bytes are `orig_ip_bytes`/`resp_ip_bytes`, IP bytes as residency
counts them, not `orig_bytes`, which is TCP payload. `proto` is a name: `icmp` is ICMPv6 (58)
when the addresses are IPv6. The `community_id` Zeek logged is kept as given.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from decimal import ROUND_DOWN, Decimal
from typing import Any

from agent.errors import CorruptRecords
from agent.flows.community import ICMP, ICMP6, PORTED, community_id
from agent.model import Flow
from agent.records.fields import Bad, rfc3339_ns, seconds_ns, whole
from agent.records.model import FlowRecord, Where
from agent.wire.numbers import TH_FIN, TH_RST, TH_SYN

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


# --- writing: residency's flows as a conn.log, so Zeek tooling reads them ---------------------

CONN_FIELDS = (
    ("ts", "time"), ("uid", "string"), ("id.orig_h", "addr"), ("id.orig_p", "port"),
    ("id.resp_h", "addr"), ("id.resp_p", "port"), ("proto", "enum"), ("service", "string"),
    ("duration", "interval"), ("orig_bytes", "count"), ("resp_bytes", "count"),
    ("conn_state", "string"), ("local_orig", "bool"), ("local_resp", "bool"),
    ("missed_bytes", "count"), ("history", "string"), ("orig_pkts", "count"),
    ("orig_ip_bytes", "count"), ("resp_pkts", "count"), ("resp_ip_bytes", "count"),
    ("tunnel_parents", "set[string]"), ("community_id", "string"),
)  # fmt: skip
"""Zeek's conn.log columns (base/protocols/conn/main.zeek) with community-id's, in its order.
What residency does not measure (payload bytes, history, missed bytes) is written unset."""
CONN_HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
    f"#fields\t{chr(9).join(n for n, _ in CONN_FIELDS)}\n"
    f"#types\t{chr(9).join(t for _, t in CONN_FIELDS)}\n"
)
SERVICES = {"sni": "ssl", "sni-ech": "ssl", "quic": "quic", "http": "http"}
"""A name's source -> the service Zeek would have named; DNS by its port."""
ZEEK_PROTOS = {v: k for k, v in PROTOS.items()} | {58: "icmp"}
"""The protocols a conn.log names (ICMPv6 is `icmp` there too)."""


def conn_row(flow: Flow, capture: str) -> dict[str, object]:
    """One flow as a conn.log row (None: unset). The uid is derived from the capture and the
    flow's serial, so the same capture always gives the same uids."""
    uid = base64.b32encode(hashlib.sha1(f"{capture}\0{flow.serial}".encode()).digest())
    services = sorted({SERVICES[s] for s, _ in flow.names if s in SERVICES})
    if not services and 53 in (flow.dport, flow.sport) and flow.proto in (6, 17):
        services = ["dns"]
    port = flow.proto in PORTED or flow.proto in (ICMP, ICMP6)
    return {
        "ts": flow.first_ns, "uid": "C" + uid[:17].decode().lower(),
        "id.orig_h": flow.src, "id.orig_p": flow.sport if port else 0,
        "id.resp_h": flow.dst, "id.resp_p": flow.dport if port else 0,
        "proto": ZEEK_PROTOS[flow.proto],
        "service": ",".join(services) or None, "duration": flow.last_ns - flow.first_ns,
        "orig_bytes": None, "resp_bytes": None, "conn_state": conn_state(flow),
        "local_orig": None, "local_resp": None, "missed_bytes": None, "history": None,
        "orig_pkts": flow.packets_fwd, "orig_ip_bytes": flow.bytes_fwd,
        "resp_pkts": flow.packets_rev, "resp_ip_bytes": flow.bytes_rev,
        "tunnel_parents": None,
        "community_id": community_id(flow.proto, flow.src, flow.sport, flow.dst, flow.dport),
    }  # fmt: skip


def conn_state(f: Flow) -> str:
    """Zeek's connection state, from what the flow table keeps: the TCP flags each way."""
    if f.proto != 6:
        return "SF" if f.packets_fwd and f.packets_rev else "S0"
    fwd, rev = f.tcp_flags_fwd, f.tcp_flags_rev
    if not fwd & TH_SYN:
        return "OTH"  # no SYN from the originator: seen mid-way
    if not f.packets_rev:
        return "S0"
    if rev & TH_RST and not rev & TH_SYN:
        return "REJ"
    if fwd & TH_RST:
        return "RSTO"
    if rev & TH_RST:
        return "RSTR"
    return "SF" if fwd & TH_FIN and rev & TH_FIN else "S1"


def conn_tsv(row: dict[str, object]) -> str:
    """A row as a TSV line: times as Zeek prints them (seconds, 6 decimals), unset as `-`."""

    def text(key: str, value: object) -> str:
        if value is None:
            return "-"
        if key in ("ts", "duration"):
            ns = int(value)  # type: ignore[call-overload]
            return f"{ns // 1_000_000_000}.{ns % 1_000_000_000 // 1000:06d}"
        return str(value)

    return "\t".join(text(k, row[k]) for k, _ in CONN_FIELDS) + "\n"


def conn_json(row: dict[str, object]) -> str:
    """A row as Zeek's JSON logs write it: unset fields left out, times as seconds."""
    out = {k: v for k, v in row.items() if v is not None}
    for key in ("ts", "duration"):
        out[key] = Decimal(int(out[key])) / 1_000_000_000  # type: ignore[call-overload]
    return json.dumps(out, default=_decimal6) + "\n"


def _decimal6(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value.quantize(Decimal("0.000001"), rounding=ROUND_DOWN))
    raise TypeError(type(value).__name__)
