"""The compiled lookup table: each layer (special-purpose, sites, providers, country) flattened to
disjoint segments, merged on their boundaries, and searched in batches by a compiled binary search.

One probe per address answers every layer at once; IPv4 and IPv6 share the 128-bit space.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cython
import numpy as np
from cython.cimports.agent.cdefs import Col, U64s

from agent.intel import special
from agent.intel.flatten import as_arrays, disjoint, flatten, join
from agent.intel.records import COUNTRY, I64, PROVIDERS, SITES, U64, Label, RangeSet

LAYERS = (SITES, PROVIDERS, COUNTRY)
V4_MAPPED = 0xFFFF_0000_0000
FORMAT = 1
"""Bumped when the on-disk layout changes, so old caches are not read."""


@cython.ccall
@cython.boundscheck(False)  # a <= mid < b <= n: the search stays inside the starts
def locate(
    starts_hi: U64s, starts_lo: U64s, hi: U64s, lo: U64s
) -> I64:
    """For each address, the index of the last segment starting at or before it."""
    m: cython.Py_ssize_t = hi.shape[0]
    n: cython.Py_ssize_t = starts_hi.shape[0]
    if lo.shape[0] != m or starts_lo.shape[0] != n:
        raise ValueError("hi and lo words differ in length")
    result = np.empty(m, np.int64)
    out: Col = result
    i: cython.Py_ssize_t
    a: cython.Py_ssize_t
    b: cython.Py_ssize_t
    mid: cython.Py_ssize_t
    h: cython.ulonglong
    w: cython.ulonglong
    with cython.nogil:
        for i in range(m):
            h, w = hi[i], lo[i]
            a, b = 0, n
            while a < b:
                mid = (a + b) >> 1
                if starts_hi[mid] < h or (starts_hi[mid] == h and starts_lo[mid] <= w):
                    a = mid + 1
                else:
                    b = mid
            out[i] = a - 1
    return result


@dataclass(frozen=True, slots=True)
class RangeEntry:
    """A range a segment points at: what it says, its text, and the source that said it."""

    label: Label
    prefix: str
    source: str


@dataclass(frozen=True, slots=True)
class Answer:
    """Who and where one address is, and which evidence decided."""

    address: str
    klass: str
    """`global`, or the special-purpose class (`private`, `loopback`, `documentation` ...)."""
    provider: str | None
    region: str | None
    border_group: str | None
    services: tuple[str, ...]
    country: str | None
    city: str | None
    site: str | None
    prefix: str | None
    """The most specific matching range of the deciding source."""
    source: str | None
    """Which source version decided: a site, a provider file, or country data (weakest)."""
    country_source: str | None
    """Where `country` came from: the deciding source's region table, or country data."""

    def as_dict(self) -> dict[str, Any]:
        """The JSON form, the one every output writes (the journal's and an alert's evidence,
        `lookup --json`, analysis documents; an access origin puts the services it reached in
        place of the range's): `class` for the special class. By hand, as `dataclasses.asdict`
        deep-copies and costs the daemon a quarter of its time per flow."""
        return {
            "address": self.address, "class": self.klass, "provider": self.provider,
            "region": self.region, "border_group": self.border_group,
            "services": list(self.services), "country": self.country, "city": self.city,
            "site": self.site, "prefix": self.prefix, "source": self.source,
            "country_source": self.country_source,
        }  # fmt: skip


def prefix_text(first: int, last: int, plen: int) -> str:
    v4 = first >> 32 == 0xFFFF and last >> 32 == 0xFFFF  # both ends in the IPv4-mapped range
    if plen < 0:
        a, b = (
            (ipaddress.IPv4Address(x & 0xFFFF_FFFF) for x in (first, last))
            if v4
            else (ipaddress.IPv6Address(x) for x in (first, last))
        )
        return f"{a}-{b}"
    if v4:
        return f"{ipaddress.IPv4Address(first & 0xFFFF_FFFF)}/{plen - 96}"
    return f"{ipaddress.IPv6Address(first)}/{plen}"


def _special_layer() -> tuple[list[int], list[int], list[str]]:
    first, last, names = [], [], []
    for table, mapped in ((special.IPV4, True), (special.IPV6, False)):
        for text, name in table.items():
            net = ipaddress.ip_network(text)
            base = V4_MAPPED if mapped else 0
            first.append(base | int(net.network_address))
            last.append(base | int(net.broadcast_address))
            names.append(name)
    return first, last, names


ENTRY_COLUMNS = ("first_hi", "first_lo", "last_hi", "last_lo", "prefix_len")


class RangeTable:
    """Compiled from RangeSets; saved to and loaded from one .npz file."""

    def __init__(self, arrays: dict[str, Any], labels: list[Label], sources: list[str],
                 special_names: list[str]) -> None:  # fmt: skip
        self.a = arrays
        """starts_hi/lo: segment starts; ids: per segment the special class and the site,
        provider and country entry (-1: none); entry columns (ENTRY_COLUMNS, label, source)."""
        self.labels, self.sources, self.special_names = labels, sources, special_names

    @classmethod
    def compile(cls, sets: Sequence[RangeSet]) -> RangeTable:
        labels: list[Label] = []
        sources: list[str] = []
        cols: dict[str, list[Any]] = {k: [] for k in (*ENTRY_COLUMNS, "label", "source", "layer")}
        for rs in sets:
            cols["label"].append(rs.label + len(labels))
            cols["source"].append(np.full(len(rs), len(sources), np.int64))
            cols["layer"].append(np.full(len(rs), LAYERS.index(rs.layer), np.int64))
            for k in ENTRY_COLUMNS:
                cols[k].append(getattr(rs, k))
            labels.extend(rs.labels)
            sources.append(f"{rs.kind} {rs.version}")
        e: dict[str, Any] = {
            k: np.concatenate(v) if v else np.zeros(0, np.int64) for k, v in cols.items()
        }
        for k in ENTRY_COLUMNS[:4]:
            e[k] = e[k].astype(np.uint64)
        s_first, s_last, names = _special_layer()
        layers = [as_arrays(*flatten(s_first, s_last))]
        for n in range(len(LAYERS)):
            idx = np.flatnonzero(e["layer"] == n)
            cut = [e[k][idx] for k in ENTRY_COLUMNS[:4]]
            fast = disjoint(*cut)
            hi, lo, own = fast if fast else as_arrays(*flatten(join(*cut[:2]), join(*cut[2:])))
            entry = np.full(len(own), -1, np.int64)
            entry[own >= 0] = idx[own[own >= 0]]  # layer-local range -> entry
            layers.append((hi, lo, entry))
        # Merge: every boundary of any layer starts a segment; each layer's entry there.
        all_hi = np.concatenate([x[0] for x in layers])
        all_lo = np.concatenate([x[1] for x in layers])
        order = np.lexsort((all_lo, all_hi))
        hi, lo = all_hi[order], all_lo[order]
        new = np.ones(len(hi), bool)
        new[1:] = (hi[1:] != hi[:-1]) | (lo[1:] != lo[:-1])
        hi, lo = hi[new], lo[new]
        ids = np.stack([own[locate(h, w, hi, lo)] for h, w, own in layers], axis=1)
        arrays = {"starts_hi": hi, "starts_lo": lo, "ids": ids.astype(np.int64)}
        arrays.update({f"e_{k}": e[k] for k in (*ENTRY_COLUMNS, "label", "source")})
        return cls(arrays, labels, sources, names)

    def locate(self, hi: U64, lo: U64) -> I64:
        """Segment rows (special, site, provider, country) for many addresses at once."""
        return self.a["ids"][locate(self.a["starts_hi"], self.a["starts_lo"], hi, lo)]  # type: ignore[no-any-return]

    def entry(self, i: int) -> RangeEntry:
        a = self.a
        first = int(a["e_first_hi"][i]) << 64 | int(a["e_first_lo"][i])
        last = int(a["e_last_hi"][i]) << 64 | int(a["e_last_lo"][i])
        return RangeEntry(
            self.labels[int(a["e_label"][i])],
            prefix_text(first, last, int(a["e_prefix_len"][i])),
            self.sources[int(a["e_source"][i])],
        )

    def answer(self, address: str, row: Sequence[int], mapped_v6: bool = False) -> Answer:
        """The answer for one address from its segment row; stronger layers decide first."""
        spec, site, prov, country = (-1, -1, -1, -1) if mapped_v6 else row
        klass = special.IPV4_MAPPED if mapped_v6 else (
            self.special_names[spec] if spec >= 0 else special.GLOBAL)  # fmt: skip
        decider = next((self.entry(i) for i in (site, prov, country) if i >= 0), None)
        lab = decider.label if decider else Label()
        cc, city = lab.country, lab.city
        cc_source = decider.source if decider and cc else None
        if cc is None and country >= 0:
            geo = self.entry(country)
            cc, city, cc_source = geo.label.country, geo.label.city, geo.source
        return Answer(
            address, klass, lab.provider, lab.region, lab.border_group, lab.services, cc, city,
            lab.site, decider.prefix if decider else None, decider.source if decider else None,
            cc_source,
        )  # fmt: skip

    def readings(self, rows: I64) -> I64:
        """Per segment row and IPv4-mapped flag (`answer`'s `row`, `mapped_v6`), what its answer
        says but the address and the range, as columns made by `answer`'s own choices:
        the special class (one past the names: IPv4-mapped), the deciding entry's label and
        source, and the country entry's where that label names no country (-1: none). Rows
        with equal readings have answers equal in every other field."""
        a, n = self.a, len(rows)
        mapped = rows[:, 4] != 0
        spec = np.where(mapped, len(self.special_names), rows[:, 0])
        ids = np.where(mapped[:, None], -1, rows[:, 1:4])
        decider = np.full(n, -1, np.int64)
        for i in (2, 1, 0):  # the strongest layer present decides: site, provider, country
            decider = np.where(ids[:, i] >= 0, ids[:, i], decider)
        labels, sources = np.append(a["e_label"], -1), np.append(a["e_source"], -1)  # [-1]: none
        named = np.array([lab.country is not None for lab in self.labels] + [False])
        label = labels[decider]
        geo = np.where(named[label] | (ids[:, 2] < 0), -1, ids[:, 2])
        return np.column_stack([spec, label, sources[decider], labels[geo],
                                sources[geo]]).astype(np.int64)  # fmt: skip

    def save(self, path: Path) -> None:
        meta = {"format": FORMAT, "special": self.special_names, "sources": self.sources,
                "labels": [asdict(lab) for lab in self.labels]}  # fmt: skip
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8), **self.a)
        tmp.replace(path)  # never a half-written cache

    @classmethod
    def load(cls, path: Path) -> RangeTable | None:
        """The cached table, or None if it is missing, damaged or from another format."""
        try:
            with np.load(path) as z:
                meta = json.loads(z["meta"].tobytes())
                if meta.get("format") != FORMAT:
                    return None
                arrays = {k: z[k] for k in z.files if k != "meta"}
        except (OSError, ValueError, KeyError):
            return None
        labels = [Label(**{**lab, "services": tuple(lab["services"])}) for lab in meta["labels"]]
        return cls(arrays, labels, meta["sources"], meta["special"])
