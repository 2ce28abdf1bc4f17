"""Downloading the providers' official files (an edge module: the network lives here).

Azure publishes a weekly file under a new name (`ServiceTags_Public_YYYYMMDD.json`); its
download page is read for the current name, unless the user gives the file's address.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request

from agent.errors import FetchError

OFFICIAL = {
    "oci": "https://docs.oracle.com/iaas/tools/public_ip_ranges.json",
    "aws": "https://ip-ranges.amazonaws.com/ip-ranges.json",
    "gcp": "https://www.gstatic.com/ipranges/cloud.json",
    "azure-public": "https://www.microsoft.com/en-us/download/details.aspx?id=56519",
    "azure-gov": "https://www.microsoft.com/en-us/download/details.aspx?id=57063",
}
AZURE_FILE = re.compile(
    rb"""(https?://[^"'\s<>]+/ServiceTags_(?:Public|AzureGovernment)_\d{8}\.json)"""
)
LIMIT = 64 << 20
"""No official file is near this; a larger answer is not one."""


def get(url: str, timeout: float) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "residency ranges update"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            data: bytes = answer.read(LIMIT + 1)
    except urllib.error.HTTPError as err:
        err.close()
        raise FetchError(f"{url}: HTTP {err.code} {err.reason}") from err
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise FetchError(f"{url}: {getattr(err, 'reason', err)}") from err
    if len(data) > LIMIT:
        raise FetchError(f"{url}: answer larger than {LIMIT} bytes")
    return data


def resolve_azure(page_url: str, timeout: float) -> str:
    """The weekly file's address, read from its download page."""
    page = get(page_url, timeout)
    found = AZURE_FILE.search(page)
    if not found:
        raise FetchError(f"{page_url}: no ServiceTags_*.json link on the download page")
    return found.group(1).decode()


def download(source: str, url: str, timeout: float = 60.0) -> tuple[str, bytes]:
    """-> (the file's address, its bytes). Azure download pages are resolved to the file."""
    if source.startswith("azure") and not url.endswith(".json"):
        url = resolve_azure(url, timeout)
    return url, get(url, timeout)
