"""What a range file says, as records every parser returns and the table compiler takes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

# Layers, weakest evidence last: a stronger layer's answer wins where both have one.
SITES, PROVIDERS, COUNTRY = "sites", "providers", "country"


@dataclass(frozen=True, slots=True)
class Label:
    """What a source says about a range. None: the source does not say (never guessed)."""

    provider: str | None = None
    """"oci", "aws", "azure", "gcp"; None for sites and country data."""
    region: str | None = None
    """The provider's own region name; None for region-less entries (AWS GLOBAL, GCP global,
    Azure tags with an empty region)."""
    services: tuple[str, ...] = ()
    """Sorted: AWS services, OCI tags, Azure service tag names, GCP service."""
    border_group: str | None = None
    """AWS network_border_group (a Local Zone sits elsewhere than its parent region)."""
    country: str | None = None
    """ISO 3166-1 alpha-2, when the source says it (sites, country data, a known region)."""
    city: str | None = None
    site: str | None = None
    """Operator site name (rules/sites.yaml)."""


@dataclass(frozen=True, slots=True)
class RangeSet:
    """One parsed source file: ranges as columns (IPv4 as IPv4-mapped IPv6, so one 128-bit space
    serves both families, as in the flow table), each pointing at one of `labels`."""

    kind: str
    """"oci", "aws", "azure", "gcp", "sites", "dbip-csv", "mmdb"."""
    layer: str
    """SITES, PROVIDERS or COUNTRY."""
    version: str
    """The source's own version token, e.g. "syncToken=1787411825"."""
    created: str
    """When the source says it was made, ISO 8601 UTC ("" when it does not say)."""
    first_hi: U64
    first_lo: U64
    last_hi: U64
    last_lo: U64
    """Inclusive range ends."""
    prefix_len: I64
    """CIDR length in the 128-bit space (IPv4 /n is 96+n); -1 for ranges that are not CIDRs."""
    label: I64
    """Index into `labels`."""
    labels: tuple[Label, ...]
    slot: str = ""
    """Set where one kind has several current files (Azure: the cloud, "Public" or
    "AzureGovernment"), so a newer version replaces only its own."""

    def __len__(self) -> int:
        return len(self.label)
