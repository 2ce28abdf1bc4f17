"""Google Cloud VPC flow logs (Cloud Logging JSON entries) -> FlowRecords.

`jsonPayload.connection` is the five-tuple; `bytes_sent`/`packets_sent` (text) are from
`src_ip` to `dest_ip` in the window `start_time`..`end_time` (RFC 3339, ns). GCP samples the
packets it logs and scales the counts up, so every count is an estimate (`Counts.ESTIMATED`,
rate unstated: `sampling` 0). `reporter` says which end logged it: SRC (egress from the
reporting VM) or DEST (ingress); that VM, else its VPC subnet, is the vantage point.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from agent.errors import CorruptRecords
from agent.records.fields import Bad, json_documents, need, rfc3339_ns, whole
from agent.records.model import Counts, FlowRecord, Where

DIRECTIONS = {"SRC": ("src", "egress"), "DEST": ("dest", "ingress")}
KEPT = ("src_instance", "dest_instance", "src_vpc", "dest_vpc", "dest_google_service",
        "src_location", "dest_location")  # fmt: skip


def parse_gcp(data: bytes, path: str = "<data>") -> Iterator[FlowRecord]:
    for line, doc in json_documents(data, path):
        try:
            yield _entry(doc, Where(line=line))
        except Bad as err:
            raise CorruptRecords(path, f"line {line}", str(err)) from err


def _entry(doc: Any, where: Where) -> FlowRecord:
    p = need(doc, "jsonPayload", dict, "")
    c = need(p, "connection", dict, "jsonPayload")
    at = "jsonPayload.connection"
    side, direction = DIRECTIONS.get(str(p.get("reporter", "")), ("", ""))

    def port(key: str) -> int:
        return whole(c[key], f"{at}.{key}") if key in c else 0

    return FlowRecord(
        source="gcp-vpc", vantage=_vantage(p, side), proto=whole(need(c, "protocol", int, at),
        f"{at}.protocol"), src=need(c, "src_ip", str, at), sport=port("src_port"),
        dst=need(c, "dest_ip", str, at), dport=port("dest_port"),
        first_ns=rfc3339_ns(need(p, "start_time", str, "jsonPayload"), "jsonPayload.start_time"),
        last_ns=rfc3339_ns(need(p, "end_time", str, "jsonPayload"), "jsonPayload.end_time"),
        packets=whole(p.get("packets_sent", 0), "jsonPayload.packets_sent"),
        bytes=whole(p.get("bytes_sent", 0), "jsonPayload.bytes_sent"),
        counts=Counts.ESTIMATED, sampling=0, direction=direction, where=where,
        fields=tuple((k, _flat(p[k])) for k in KEPT if k in p),
    )  # fmt: skip


def _vantage(payload: dict[str, Any], side: str) -> str:
    vm = payload.get(f"{side}_instance", {}) if side else {}
    if isinstance(vm, dict) and "vm_name" in vm:
        return "/".join(str(vm.get(k, "")) for k in ("project_id", "zone", "vm_name"))
    vpc = payload.get(f"{side}_vpc", {}) if side else {}
    if isinstance(vpc, dict) and "vpc_name" in vpc:
        return "/".join(str(vpc.get(k, "")) for k in ("project_id", "vpc_name", "subnetwork_name"))
    return ""


def _flat(value: Any) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}={_flat(v)}" for k, v in value.items())
    return str(value)
