"""Google Cloud's cloud.json -> ranges labelled with scope (region) and service.

Schema: `{"syncToken": "1778033048194", "creationTime": "2026-05-05T19:04:08.194918",
"prefixes": [{"ipv4Prefix" | "ipv6Prefix": cidr, "service": "Google Cloud", "scope":
"us-central1" | "global"}]}`. Scope `global` is no region: region None, and no place.
"""

from __future__ import annotations

from agent.errors import RangeFileError
from agent.intel.cidr import RangeBuilder
from agent.intel.detect import check_kind
from agent.intel.fields import cidr_at, iso_utc, load_json, need, need_object
from agent.intel.records import PROVIDERS, Label, RangeSet
from agent.intel.regions import GCP, place

FAMILIES = {"ipv4Prefix": True, "ipv6Prefix": False}
"""Each prefix field and whether it holds IPv4."""


def parse_gcp(data: bytes, path: str) -> RangeSet:
    doc = load_json(data, path)
    check_kind(doc, "gcp", path)
    token = need(doc, "syncToken", str, path, "")
    created = iso_utc(need(doc, "creationTime", str, path, ""), path, "creationTime")
    rows = RangeBuilder()
    labels: dict[tuple[str, str], Label] = {}
    for i, entry in enumerate(need(doc, "prefixes", list, path, "")):
        where = f"prefixes[{i}]"
        keys = [k for k in FAMILIES if k in need_object(entry, path, where)]
        if len(keys) != 1:
            why = "both fields" if keys else "missing field"
            raise RangeFileError(path, where, f"{why} 'ipv4Prefix' {'and' if keys else 'or'} "
                                              "'ipv6Prefix'")  # fmt: skip
        cidr = cidr_at(need(entry, keys[0], str, path, where), path, f"{where}.{keys[0]}")
        if cidr.is_v4 != FAMILIES[keys[0]]:
            raise RangeFileError(path, f"{where}.{keys[0]}", "address of the wrong family")
        scope = need(entry, "scope", str, path, where)
        service = need(entry, "service", str, path, where)
        label = labels.get((scope, service))
        if label is None:
            region = None if scope == "global" else scope
            spot = place(GCP, region)
            label = labels[scope, service] = Label("gcp", region, (service,), None, *spot)
        rows.add(cidr, label)
    return rows.build("gcp", PROVIDERS, f"syncToken={token}", created)
