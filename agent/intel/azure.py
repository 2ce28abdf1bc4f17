"""Azure service tags (the public cloud's and Azure Government's weekly JSON) -> ranges labelled
with region and service tag names.

Schema: `{"changeNumber": 398, "cloud": "Public" | "AzureGovernment", "values": [{"name":
"Storage.EastUS", "properties": {"region": "eastus" | "", "addressPrefixes": [v4 and v6
CIDRs], ...}}]}`. Tags overlap: one prefix is in `AzureCloud.eastus`, `Storage`,
`Storage.EastUS`..., so the entries of one prefix are merged into one label whose services are
all of its tag names. Region "" (a global tag) says nothing about place, so it does not unplace a
prefix that a regional tag places. Should two tags give one prefix different regions, the file
contradicts itself and the merged region is None; country and city stay only where both regions
are in the same one (`merge_labels`). The `cloud` is the slot: a public and a US Government file
are current side by side.
"""

from __future__ import annotations

from agent.errors import RangeFileError
from agent.intel.cidr import Cidr, RangeBuilder
from agent.intel.detect import check_kind
from agent.intel.fields import cidr_at, join, load_json, need
from agent.intel.records import PROVIDERS, Label, RangeSet
from agent.intel.regions import AZURE, place


def parse_azure(data: bytes, path: str) -> RangeSet:
    doc = load_json(data, path)
    check_kind(doc, "azure", path)
    change = need(doc, "changeNumber", int, path, "")
    cloud = need(doc, "cloud", str, path, "")
    if not cloud:
        raise RangeFileError(path, "cloud", "empty cloud name")
    rows = RangeBuilder()
    parsed: dict[str, Cidr] = {}  # most prefixes are in several tags
    for i, tag in enumerate(need(doc, "values", list, path, "")):
        where = f"values[{i}]"
        name = need(tag, "name", str, path, where)
        props = need(tag, "properties", dict, path, where)
        at = join(where, "properties")
        region = need(props, "region", str, path, at) or None
        label = Label("azure", region, (name,), None, *place(AZURE, region))
        prefixes = need(props, "addressPrefixes", list, path, at)
        for j, text in enumerate(prefixes):
            cidr = parsed.get(text) if isinstance(text, str) else None
            if cidr is None:
                entry = f"{at}.addressPrefixes[{j}]"
                if not isinstance(text, str):
                    raise RangeFileError(path, entry, "expected a string")
                cidr = parsed[text] = cidr_at(text, path, entry)
            rows.add(cidr, label)
    return rows.build("azure", PROVIDERS, f"changeNumber={change} cloud={cloud}", "", cloud)
