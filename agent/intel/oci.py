"""Oracle Cloud Infrastructure's public_ip_ranges.json -> ranges labelled with region and tags.

Schema: `{"last_updated_timestamp": "2025-07-31T18:18:01.103975", "regions": [{"region":
"us-ashburn-1", "cidrs": [{"cidr": "129.80.0.0/16", "tags": ["OCI"]}]}]}` (IPv4 only). The tags
(OCI = customer VCN addresses, OSN = Oracle Services Network, OBJECT_STORAGE) are the services.
"""

from __future__ import annotations

from agent.intel.cidr import RangeBuilder
from agent.intel.detect import check_kind
from agent.intel.fields import cidr_at, iso_utc, load_json, need, text_list
from agent.intel.records import PROVIDERS, Label, RangeSet
from agent.intel.regions import OCI, place

STAMP = "last_updated_timestamp"


def parse_oci(data: bytes, path: str) -> RangeSet:
    doc = load_json(data, path)
    check_kind(doc, "oci", path)
    stamp = need(doc, STAMP, str, path, "")
    created = iso_utc(stamp, path, STAMP)
    rows = RangeBuilder()
    for i, reg in enumerate(need(doc, "regions", list, path, "")):
        where = f"regions[{i}]"
        region = need(reg, "region", str, path, where)
        country, city = place(OCI, region)
        for j, entry in enumerate(need(reg, "cidrs", list, path, where)):
            at = f"{where}.cidrs[{j}]"
            cidr = cidr_at(need(entry, "cidr", str, path, at), path, f"{at}.cidr")
            tags = tuple(sorted(set(text_list(entry, "tags", path, at))))
            rows.add(cidr, Label("oci", region, tags, None, country, city))
    return rows.build("oci", PROVIDERS, f"{STAMP}={stamp}", created)
