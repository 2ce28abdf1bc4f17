"""Country data -> country ranges: DB-IP's "IP to Country Lite" CSV and MaxMind DB (.mmdb) files.

The CSV is headerless `start,end,cc` (inclusive, text addresses, ISO 3166-1 alpha-2), one family
per file as DB-IP ships it (both in one file also works). 700k rows are parsed at once: every
field is split out of the text in one pass and every address goes through `inet_pton` in C, with
no Python object per row; only a file that fails is walked line by line, to name the line.

The .mmdb is walked network by network with the maxminddb reader; a network without a country
(e.g. an anonymous-proxy entry in some databases) is left out, so the lookup says "unknown".
"""

from __future__ import annotations

import io
import socket
import struct
from datetime import UTC, datetime
from functools import partial
from typing import Any

import maxminddb
import numpy as np
import numpy.typing as npt

from agent.errors import RangeFileError
from agent.intel.cidr import MASK64, V4_MAPPED, V4_MAPPED_LAST, Cidr, RangeBuilder, parse_range
from agent.intel.countries import SHAPE
from agent.intel.records import COUNTRY, U64, Label, RangeSet

_V4 = partial(socket.inet_pton, socket.AF_INET)
_V6 = partial(socket.inet_pton, socket.AF_INET6)
_DAMAGED = (maxminddb.InvalidDatabaseError, ValueError, TypeError, KeyError, IndexError,
            AttributeError, OverflowError, RecursionError, struct.error)  # fmt: skip
"""What the maxminddb reader raises on damaged bytes (it trusts the file's pointers)."""


def parse_dbip_csv(data: bytes, path: str) -> RangeSet:
    """DB-IP country CSV -> one range per row, labelled with its country."""
    try:
        text = data.decode("ascii").replace("\r\n", "\n")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise RangeFileError(path, f"line {line}", "not ASCII text") from None
    text = text[:-1] if text.endswith("\n") else text
    if not text:
        raise RangeFileError(path, "", "no rows")
    fields = text.replace("\n", ",").split(",")
    n = text.count("\n") + 1
    try:
        if len(fields) != 3 * n:
            raise ValueError
        fh, fl, lh, ll = _addresses(fields[0::3], fields[1::3])
        cc = fields[2::3]
        codes = sorted(set(cc))
        if not all(SHAPE.fullmatch(c) for c in codes):
            raise ValueError
    except (OSError, ValueError):
        raise _bad_line(text, path) from None
    index = {c: i for i, c in enumerate(codes)}
    v4 = (fh == 0) & (fl >> np.uint64(32) == np.uint64(0xFFFF))
    slot = "ipv4" if v4.all() else "ipv6" if not v4.any() else ""
    return RangeSet(
        "dbip-csv", COUNTRY, f"dbip-lite {slot or 'ipv4+ipv6'} {n} rows", "",
        fh, fl, lh, ll, np.full(n, -1, np.int64),
        np.fromiter(map(index.__getitem__, cc), np.int64, n),
        tuple(Label(country=c) for c in codes), slot,
    )  # fmt: skip


def _addresses(starts: list[str], ends: list[str]) -> tuple[U64, U64, U64, U64]:
    """Address columns -> hi and lo words of the starts and of the ends; ValueError or OSError
    for any bad address or range."""
    n = len(starts)
    is6 = np.fromiter((":" in s for s in starts), bool, n)
    six, four = np.flatnonzero(is6), np.flatnonzero(~is6)
    words: list[U64] = []
    for col in (starts, ends):
        hi, lo = np.zeros(n, np.uint64), np.zeros(n, np.uint64)
        if len(four):
            packed = b"".join(map(_V4, _pick(col, four)))
            lo[four] = np.frombuffer(packed, ">u4").astype(np.uint64) | np.uint64(V4_MAPPED)
        if len(six):
            both = np.frombuffer(b"".join(map(_V6, _pick(col, six))), ">u8")
            hi[six], lo[six] = both[0::2], both[1::2]
        words += [hi, lo]
    fh, fl, lh, ll = words
    backwards = (fh > lh) | ((fh == lh) & (fl > ll))
    # An IPv6 range must keep out of ::ffff:0:0/96, where IPv4 lives in this space.
    mapped = is6 & (fh == 0) & (fl <= np.uint64(V4_MAPPED_LAST)) & (
        (lh > 0) | (ll >= np.uint64(V4_MAPPED)))  # fmt: skip
    if backwards.any() or mapped.any():
        raise ValueError("bad range")
    return fh, fl, lh, ll


def _pick(col: list[str], rows: npt.NDArray[np.intp]) -> list[str]:
    """The rows of one family (a file is usually all of one: then the column itself)."""
    return col if len(rows) == len(col) else [col[i] for i in rows.tolist()]


def _bad_line(text: str, path: str) -> RangeFileError:
    """The error for the first line that is not `start,end,cc`."""
    for no, line in enumerate(text.split("\n"), 1):
        parts = line.split(",")
        if len(parts) != 3:
            return RangeFileError(path, f"line {no}", f"expected start,end,country; got {line!r}")
        try:
            parse_range(parts[0], parts[1])
        except ValueError as err:
            return RangeFileError(path, f"line {no}", str(err))
        if not SHAPE.fullmatch(parts[2]):
            return RangeFileError(path, f"line {no}", f"not a country code: {parts[2]!r}")
    return RangeFileError(path, "", "malformed CSV")


def parse_mmdb(data: bytes, path: str) -> RangeSet:
    """MaxMind DB (GeoLite2/GeoIP2 Country, DB-IP's .mmdb, ip-location-db's) -> country ranges."""
    try:
        reader = maxminddb.open_database(io.BytesIO(data), maxminddb.MODE_FD)
    except _DAMAGED as err:
        raise RangeFileError(path, "", f"not a readable MaxMind DB: {err}") from None
    meta = reader.metadata()
    rows = RangeBuilder()
    labels: dict[str, Label] = {}
    net = None
    seen = [False, False]  # IPv4, IPv6 networks
    try:
        for net, record in reader:
            cc = _country(record)
            if cc is None:
                continue
            if not SHAPE.fullmatch(cc):
                raise RangeFileError(path, f"network {net}", f"not a country code: {cc!r}")
            label = labels.get(cc) or labels.setdefault(cc, Label(country=cc))
            v6 = net.version == 6
            plen = net.prefixlen + (0 if v6 else 96)
            first = int(net.network_address) | (0 if v6 else V4_MAPPED)
            last = first | ((1 << (128 - plen)) - 1)
            if v6 and first <= V4_MAPPED_LAST and last >= V4_MAPPED:
                continue  # IPv4 seen through ::ffff:0:0/96; the IPv4 subtree says it already
            seen[v6] = True
            rows.add(Cidr(first >> 64, first & MASK64, last >> 64, last & MASK64, plen), label)
    except _DAMAGED as err:
        where = f"after network {net}" if net is not None else "search tree"
        raise RangeFileError(path, where, f"damaged MaxMind DB: {err}") from None
    finally:
        reader.close()
    if not len(rows):
        raise RangeFileError(path, "", "no network in this MaxMind DB has a country")
    created = datetime.fromtimestamp(meta.build_epoch, UTC).isoformat()
    slot = "ipv6" if not seen[0] else "ipv4" if not seen[1] else ""
    version = f"{meta.database_type} build_epoch={meta.build_epoch}"
    return rows.build("mmdb", COUNTRY, version, created, slot)


def _country(record: Any) -> str | None:
    """The country of a record: GeoIP2/DB-IP layout {"country": {"iso_code"}}, or the flat
    {"country_code"} of ip-location-db's databases. The registered country is not where a block
    is used, so it is not taken."""
    if not isinstance(record, dict):
        return None
    country = record.get("country")
    code = country.get("iso_code") if isinstance(country, dict) else record.get("country_code")
    return code if isinstance(code, str) else None
