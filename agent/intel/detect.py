"""Which kind of range file some bytes are, by content alone: file names lie (every provider's is
some `*.json`, a download may be renamed), and a file of one provider given to another's parser
should say so plainly instead of failing on a missing field.

The caller has already gunzipped. Kinds: "oci", "aws", "azure" (public and US Government alike;
the `cloud` field picks the slot), "gcp", "dbip-csv", "mmdb", "sites".
"""

from __future__ import annotations

import json
import re
from typing import Any

from agent.errors import RangeFileError

NAMES = {
    "oci": "an Oracle Cloud (OCI) public_ip_ranges.json file",
    "aws": "an AWS ip-ranges.json file",
    "azure": "an Azure service tags file",
    "gcp": "a Google Cloud cloud.json file",
    "dbip-csv": "a DB-IP country CSV file",
    "mmdb": "a MaxMind DB (.mmdb) file",
    "sites": "an operator sites YAML file",
}

MMDB_MARKER = b"\xab\xcd\xefMaxMind.com"
"""Starts an .mmdb file's metadata, which sits in its last 128 KiB."""

# Keys that only one provider's JSON has, at the top level or in its entries. Checked as text in
# the head of a file that is not valid JSON, so a cut-off file still reaches its own parser and
# is reported there at the line where it breaks.
_JSON_MARKS = {
    "oci": (b'"last_updated_timestamp"', b'"cidrs"'),
    "aws": (b'"createDate"', b'"ip_prefix"', b'"ipv6_prefix"', b'"network_border_group"'),
    "azure": (b'"changeNumber"', b'"addressPrefixes"', b'"systemService"'),
    "gcp": (b'"creationTime"', b'"ipv4Prefix"', b'"ipv6Prefix"'),
}
_CSV_ROW = re.compile(rb"[0-9A-Fa-f:.]+,[0-9A-Fa-f:.]+,[A-Za-z]{2}\r?")
_SITES_KEY = re.compile(rb"^sites[ \t]*:", re.MULTILINE)


def detect_kind(data: bytes, path: str = "<data>") -> str:
    """The kind of a range file, or RangeFileError naming what it is not."""
    if data[:2] == b"\x1f\x8b":
        raise RangeFileError(path, "", "gzip-compressed data: decompress it first")
    if data.rfind(MMDB_MARKER, max(0, len(data) - 128 * 1024)) >= 0:
        return "mmdb"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] in (b"{", b"["):
        kind = _json_kind_of_bytes(data)
        if kind:
            return kind
        raise RangeFileError(path, "", "JSON, but not the range file of OCI, AWS, Azure or GCP")
    first_line = head.split(b"\n", 1)[0]
    if _CSV_ROW.fullmatch(first_line):
        return "dbip-csv"
    if _SITES_KEY.search(data[: 1 << 20]):
        return "sites"
    raise RangeFileError(
        path, "", "not a file residency knows: expected a provider's range JSON (OCI, AWS, Azure, "
        "Google Cloud), a DB-IP country CSV, a MaxMind .mmdb or a sites YAML with a `sites:` key",
    )  # fmt: skip


def json_kind(doc: Any) -> str | None:
    """The provider of a parsed JSON document by its keys; None when none or several fit."""
    if not isinstance(doc, dict):
        return None
    prefixes = doc.get("prefixes")
    entry = prefixes[0] if isinstance(prefixes, list) and prefixes else {}
    entry = entry if isinstance(entry, dict) else {}
    fits = {
        "oci": "last_updated_timestamp" in doc or "regions" in doc,
        "aws": "createDate" in doc or "ipv6_prefixes" in doc or "ip_prefix" in entry,
        "azure": "values" in doc or "cloud" in doc,
        "gcp": "creationTime" in doc or "ipv4Prefix" in entry or "ipv6Prefix" in entry,
    }
    found = [k for k, ok in fits.items() if ok]
    return found[0] if len(found) == 1 else None


def check_kind(doc: Any, expected: str, path: str) -> None:
    """Refuse a file that is plainly another provider's before its fields are read."""
    kind = json_kind(doc)
    if kind is not None and kind != expected:
        raise RangeFileError(path, "", f"this is {NAMES[kind]}, not {NAMES[expected]}")


def _json_kind_of_bytes(data: bytes) -> str | None:
    try:
        return json_kind(json.loads(data))
    except (ValueError, RecursionError):  # cut off or damaged: judge by the keys in its head
        head = data[: 1 << 16]
        found = [k for k, marks in _JSON_MARKS.items() if any(m in head for m in marks)]
        return found[0] if len(found) == 1 else None
