"""AWS ip-ranges.json -> ranges labelled with region, services and network border group.

Schema: `{"syncToken": "1787411825", "createDate": "2026-08-22-15-17-05", "prefixes":
[{"ip_prefix", "region", "service", "network_border_group"}], "ipv6_prefixes": [{"ipv6_prefix",
...}]}`. AWS lists a prefix once per service (AMAZON is the superset), so the rows of one prefix
are merged into one label with every service. Region `GLOBAL` is no region (None, no place); a
Local or Wavelength Zone border group is placed where it is, not where its parent region is.
"""

from __future__ import annotations

from agent.errors import RangeFileError
from agent.intel.cidr import RangeBuilder
from agent.intel.detect import check_kind
from agent.intel.fields import cidr_at, iso_utc, load_json, need
from agent.intel.records import PROVIDERS, Label, RangeSet
from agent.intel.regions import aws_place

LISTS = (("prefixes", "ip_prefix", True), ("ipv6_prefixes", "ipv6_prefix", False))
"""Each list, its prefix field, and whether it holds IPv4."""
SAID = ("region", "service", "network_border_group")
GLOBAL = "GLOBAL"


def parse_aws(data: bytes, path: str) -> RangeSet:
    doc = load_json(data, path)
    check_kind(doc, "aws", path)
    token = need(doc, "syncToken", str, path, "")
    stamp = need(doc, "createDate", str, path, "")
    created = iso_utc(stamp, path, "createDate", "%Y-%m-%d-%H-%M-%S")
    rows = RangeBuilder()
    labels: dict[tuple[str, ...], Label] = {}
    for key, field, v4 in LISTS:
        for i, entry in enumerate(need(doc, key, list, path, "")):
            where = f"{key}[{i}]"
            cidr = cidr_at(need(entry, field, str, path, where), path, f"{where}.{field}")
            if cidr.is_v4 != v4:
                raise RangeFileError(path, f"{where}.{field}", "address of the wrong family")
            said = tuple(need(entry, k, str, path, where) for k in SAID)
            label = labels.get(said)
            if label is None:
                label = labels[said] = _label(*said)
            rows.add(cidr, label)
    return rows.build("aws", PROVIDERS, f"syncToken={token}", created)


def _label(region: str, service: str, border_group: str) -> Label:
    """GLOBAL is no region and no border group: None, and no place."""
    reg = None if region == GLOBAL else region
    group = None if border_group == GLOBAL else border_group
    return Label("aws", reg, (service,), group, *aws_place(reg, group))
