"""Verdicts as SIEM events: OCSF Network Activity (class 4001, OCSF 1.1) or Elastic Common Schema
(ECS 8) documents, one per flow, with residency's own fields (scope, verdict, rule, place,
weak evidence, journal row, names) under `residency`, declared as an OCSF extension and used as
an ECS custom field set. Pure: verdicts in, dicts out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import IO, Any

from agent import __version__
from agent.flows.community import community_id
from agent.model import Flow
from agent.policy.judge import VIOLATION, Verdict
from agent.wire.keywords import proto_name

EXTENSION = {"name": "residency", "uid": "999", "version": "1"}
"""How an OCSF event names the `residency` attributes it carries (999: a private extension)."""
OCSF_VERSION = "1.1.0"
TRAFFIC = 6
"""OCSF Network Activity `activity_id` 6: Traffic (a report of a connection's traffic)."""


def residency(v: Verdict, host: str) -> dict[str, Any]:
    """The fields OCSF and ECS have no place for: the policy's answer and what it rests on."""
    a, rule = v.answer, v.rule
    return {
        "host": host, "scope": v.scope, "verdict": v.verdict,
        "rule": None if rule is None else {"name": rule.name, "where": rule.where},
        "provider": a.provider, "region": a.region, "border_group": a.border_group,
        "country": a.country, "site": a.site, "weak": v.weak, "note": v.note or None,
        "journal_seq": v.flow.serial, "direction": v.flow.direction,
        "names": [{"source": s, "name": n} for s, n in v.flow.names],
    }  # fmt: skip


def ocsf(v: Verdict, host: str) -> dict[str, Any]:
    f, p = v.flow, v.process
    event: dict[str, Any] = {
        "class_uid": 4001, "class_name": "Network Activity", "category_uid": 4,
        "category_name": "Network Activity", "activity_id": TRAFFIC,
        "type_uid": 4001 * 100 + TRAFFIC, "severity_id": 4 if v.verdict == VIOLATION else 1,
        "time": f.first_ns // 1_000_000, "start_time": f.first_ns // 1_000_000,
        "end_time": f.last_ns // 1_000_000,
        "metadata": {"version": OCSF_VERSION, "extensions": [EXTENSION],
                     "product": {"name": "residency", "vendor_name": "residency",
                                 "version": __version__}},
        "device": {"hostname": host},
        "src_endpoint": {"ip": f.src, "port": f.sport},
        "dst_endpoint": _drop({"ip": f.dst, "port": f.dport, "hostname": _name(f)}),
        "connection_info": {"protocol_num": f.proto, "protocol_name": proto_name(f.proto),
                            "community_uid": _community(f)},
        "traffic": {"bytes_out": f.bytes_fwd, "bytes_in": f.bytes_rev,
                    "packets_out": f.packets_fwd, "packets_in": f.packets_rev,
                    "bytes": f.bytes_fwd + f.bytes_rev, "packets": f.packets_fwd + f.packets_rev},
        "residency": residency(v, host),
    }  # fmt: skip
    if p is not None:
        event["actor"] = {"process": {"pid": p.pid, "name": p.name, "file": {"path": p.exe}},
                          "user": {"name": p.user}}  # fmt: skip
    return event


def ecs(v: Verdict, host: str) -> dict[str, Any]:
    f, p = v.flow, v.process
    event: dict[str, Any] = {
        "@timestamp": _iso(f.first_ns),
        "ecs": {"version": "8.11.0"},
        "event": {"kind": "event", "category": ["network"], "type": ["connection"],
                  "start": _iso(f.first_ns), "end": _iso(f.last_ns),
                  "outcome": "failure" if v.verdict == VIOLATION else "success"},
        "host": {"hostname": host},
        "source": {"ip": f.src, "port": f.sport, "bytes": f.bytes_fwd, "packets": f.packets_fwd},
        "destination": _drop({"ip": f.dst, "port": f.dport, "bytes": f.bytes_rev,
                              "packets": f.packets_rev, "domain": _name(f)}),
        "network": {"iana_number": str(f.proto), "transport": proto_name(f.proto),
                    "bytes": f.bytes_fwd + f.bytes_rev, "packets": f.packets_fwd + f.packets_rev,
                    "community_id": _community(f)},
        "residency": residency(v, host),
    }  # fmt: skip
    if p is not None:
        event["process"] = {"pid": p.pid, "name": p.name, "executable": p.exe}
        event["user"] = {"name": p.user}
    return event


FORMATS: dict[str, Callable[[Verdict, str], dict[str, Any]]] = {"ocsf-json": ocsf,
                                                                "ecs-json": ecs}  # fmt: skip


def _community(f: Flow) -> str:
    return community_id(f.proto, f.src, f.sport, f.dst, f.dport)


def _name(f: Flow) -> str | None:
    return f.names[0][1] if f.names else None


def _drop(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _iso(ns: int) -> str:
    from datetime import UTC, datetime

    whole = datetime.fromtimestamp(ns // 1_000_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{whole}.{ns % 1_000_000_000:09d}Z"


class Events:
    """A sink of the chain: each verdict written as one event (a JSON line) in `kind`'s form."""

    def __init__(self, kind: str, out: IO[str]) -> None:
        self.form, self.out = FORMATS[kind], out

    def add(self, verdicts: Sequence[Verdict], where: str) -> None:
        for v in verdicts:
            self.out.write(json.dumps(self.form(v, where), sort_keys=True) + "\n")
