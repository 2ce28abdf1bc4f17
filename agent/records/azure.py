"""Azure VNet flow logs and NSG flow logs (version 2) -> FlowRecords.

Both are nested JSON (`{"records": [...]}` blobs, PT1H.json) whose leaves are flow tuples of
comma-separated values, one tuple for both directions of a conversation: packets and bytes
source->destination, then destination->source, counted since the conversation's previous
tuple (state B begins it with no counts, C continues, E ends). The tuple's time is a point,
so a record's window is that instant.

NSG v2 (`properties.flows[].flows[].flowTuples`, per rule and MAC): `ts(s),src,dst,sport,
dport,T|U,I|O,A|D,B|C|E,pkts,bytes,pkts,bytes`; `D` is denied.
VNet (`flowRecords.flows[].flowGroups[].flowTuples`, per ACL and rule, the interface in
`macAddress`): `ts(ms),src,dst,sport,dport,proto,I|O,B|C|E|D,encryption,pkts,bytes,pkts,
bytes`; state `D` is denied.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from agent.errors import CorruptRecords
from agent.records.fields import Bad, json_documents, need, whole
from agent.records.model import Action, FlowRecord, Where

NS = 1_000_000_000
_PROTOS = {"T": 6, "U": 17}
_DIRECTIONS = {"I": "ingress", "O": "egress"}


def parse_azure_nsg(data: bytes, path: str = "<data>") -> Iterator[FlowRecord]:
    for line, doc in json_documents(data, path):
        for at, record in _records(doc):
            try:
                yield from _nsg(record, at, line)
            except Bad as err:
                raise CorruptRecords(path, f"line {line}", str(err)) from err


def parse_azure_vnet(data: bytes, path: str = "<data>") -> Iterator[FlowRecord]:
    for line, doc in json_documents(data, path):
        for at, record in _records(doc):
            try:
                yield from _vnet(record, at, line)
            except Bad as err:
                raise CorruptRecords(path, f"line {line}", str(err)) from err


def _records(doc: Any) -> Iterator[tuple[str, Any]]:
    """The records of a blob, or the document itself when it is one record."""
    if isinstance(doc, dict) and "records" in doc:
        for i, record in enumerate(need(doc, "records", list, "")):
            yield f"records[{i}]", record
    else:
        yield "", doc


def _nsg(record: Any, at: str, line: int) -> Iterator[FlowRecord]:
    props = need(record, "properties", dict, at)
    at_p = f"{at}.properties".lstrip(".")
    resource = str(record.get("resourceId", ""))
    item = 0
    for i, group in enumerate(need(props, "flows", list, at_p)):
        rule = need(group, "rule", str, f"{at_p}.flows[{i}]")
        for j, nic in enumerate(need(group, "flows", list, f"{at_p}.flows[{i}]")):
            here = f"{at_p}.flows[{i}].flows[{j}]"
            mac = need(nic, "mac", str, here)
            for k, text in enumerate(need(nic, "flowTuples", list, here)):
                where = f"{here}.flowTuples[{k}]"
                values = _values(text, 13, where)
                extra = (("rule", rule), ("resource", resource), ("state", values[8]))
                denied, place = values[7] == "D", Where(line=line, item=item)
                proto = _proto(values[5], where)
                yield _tuple(values, "azure-nsg", mac, NS, proto, denied, place, extra, where)
                item += 1


def _vnet(record: Any, at: str, line: int) -> Iterator[FlowRecord]:
    mac = need(record, "macAddress", str, at)
    at_r = f"{at}.flowRecords".lstrip(".")
    target = str(record.get("targetResourceID", ""))
    item = 0
    for i, acl in enumerate(need(need(record, "flowRecords", dict, at), "flows", list, at_r)):
        here = f"{at_r}.flows[{i}]"
        acl_id = str(acl.get("aclID", "")) if isinstance(acl, dict) else ""
        for j, group in enumerate(need(acl, "flowGroups", list, here)):
            rule = need(group, "rule", str, f"{here}.flowGroups[{j}]")
            tuples = need(group, "flowTuples", list, f"{here}.flowGroups[{j}]")
            for k, text in enumerate(tuples):
                where = f"{here}.flowGroups[{j}].flowTuples[{k}]"
                values = _values(text, 13, where)
                extra = (("rule", rule), ("acl", acl_id), ("target", target),
                         ("state", values[7]), ("encryption", values[8]))  # fmt: skip
                yield _tuple([*values[:7], *values[9:]], "azure-vnet", mac, 1_000_000,
                             whole(values[5], f"{where} protocol"), values[7] == "D",
                             Where(line=line, item=item), extra, where)  # fmt: skip
                item += 1


def _values(text: Any, count: int, at: str) -> list[str]:
    if not isinstance(text, str):
        raise Bad(at, "not a flow tuple string")
    values = text.split(",")
    if len(values) != count:
        raise Bad(at, f"{len(values)} values, a flow tuple has {count}")
    return values


def _proto(letter: str, at: str) -> int:
    if letter not in _PROTOS:
        raise Bad(at, f"protocol {letter!r} is not T or U")
    return _PROTOS[letter]


def _tuple(
    v: list[str], source: str, mac: str, unit_ns: int, proto: int, denied: bool, where: Where,
    extra: tuple[tuple[str, str], ...], at: str,
) -> FlowRecord:  # fmt: skip
    """v: ts, src, dst, sport, dport, proto, direction, then four counts (empty in state B)."""
    when = whole(v[0], f"{at} time") * unit_ns
    pkts, byts, pkts_r, byts_r = (whole(x or "0", f"{at} counts") for x in v[-4:])
    return FlowRecord(
        source=source, vantage=mac, proto=proto, src=v[1], sport=whole(v[3], f"{at} sport"),
        dst=v[2], dport=whole(v[4], f"{at} dport"), first_ns=when, last_ns=when,
        packets=pkts, bytes=byts, packets_rev=pkts_r, bytes_rev=byts_r, bidirectional=True,
        action=Action.REJECT if denied else Action.ACCEPT,
        direction=_DIRECTIONS.get(v[6], ""), where=where, fields=extra,
    )  # fmt: skip
