"""Oracle Cloud VCN flow logs -> FlowRecords and gaps.

An event as the Logging service shows and exports it: `{"datetime", "logContent": {"data":
{...}, "oracle": {"vnicocid", ...}, "type": "com.oraclecloud.vcn.flowlogs.DataEvent"}}`, or the
bare CloudEvent (`data`, `oracle`, `type`) as Service Connector Hub delivers it; one or many per
file. One record per direction per VNIC per window: `bytesOut`/`packets` are from
`sourceAddress` to `destinationAddress`; `startTime`/`endTime` in epoch seconds. The vantage
point is the VNIC. `status` NODATA/SKIPDATA is a coverage gap, as in AWS.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from agent.errors import CorruptRecords
from agent.records.fields import Bad, json_documents, need, seconds_ns, whole
from agent.records.model import Action, CoverageGap, FlowRecord, Gap, Item, Where

TYPE = "com.oraclecloud.vcn.flowlogs.DataEvent"
_GAPS = {"NODATA": Gap.NODATA, "SKIPDATA": Gap.SKIPDATA}
_ACTIONS = {"ACCEPT": Action.ACCEPT, "REJECT": Action.REJECT}
USED = frozenset(
    "action bytesOut destinationAddress destinationPort endTime packets protocol protocolName "
    "sourceAddress sourcePort startTime status".split()
)


def parse_oci(data: bytes, path: str = "<data>") -> Iterator[Item]:
    for line, doc in json_documents(data, path):
        try:
            yield from _event(doc, Where(line=line))
        except Bad as err:
            raise CorruptRecords(path, f"line {line}", str(err)) from err


def _event(doc: Any, where: Where) -> list[Item]:
    at = "logContent" if isinstance(doc, dict) and "logContent" in doc else ""
    event = need(doc, "logContent", dict, "") if at else doc
    if need(event, "type", str, at) != TYPE:
        raise Bad(f"{at}.type" if at else "type", f"not a VCN flow log event ({TYPE})")
    data = need(event, "data", dict, at)
    here = f"{at}.data" if at else "data"
    oracle = event.get("oracle", {})
    vnic = str(oracle.get("vnicocid", "")) if isinstance(oracle, dict) else ""
    start = seconds_ns(need(data, "startTime", (int, str), here), f"{here}.startTime")
    end = seconds_ns(need(data, "endTime", (int, str), here), f"{here}.endTime")
    status = _GAPS.get(str(data.get("status", "")))
    if status is not None and "sourceAddress" not in data:
        return [CoverageGap(source="oci-vcn", vantage=vnic, start_ns=start, end_ns=end,
                            gap=status, where=where)]  # fmt: skip

    def num(key: str) -> int:
        return whole(data[key], f"{here}.{key}") if key in data else 0

    return [FlowRecord(
        source="oci-vcn", vantage=vnic, proto=whole(need(data, "protocol", (int, str), here),
        f"{here}.protocol"), src=need(data, "sourceAddress", str, here), sport=num("sourcePort"),
        dst=need(data, "destinationAddress", str, here), dport=num("destinationPort"),
        first_ns=start, last_ns=end, packets=num("packets"), bytes=num("bytesOut"),
        action=_ACTIONS.get(str(data.get("action", "")), Action.UNKNOWN), where=where,
        fields=tuple((k, str(v)) for k, v in data.items() if k not in USED),
    )]  # fmt: skip
