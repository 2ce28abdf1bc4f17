"""The operator's own sites (rules/sites.yaml) -> ranges labelled with site, country and city.

A site is a place the operator itself runs, so it is the strongest evidence of where an address
is: it beats the providers' files and country data. Schema (unknown keys are errors, so a typo
like `cidr:` is caught instead of silently ignored):

    version: "2026-08-01"       # optional: the file's own version token (else "unversioned")
    created: 2026-08-01         # optional: when it was written, ISO 8601 (a date is 00:00 UTC)
    sites:                      # required: a list of sites
      - name: example-virginia  # required, unique
        country: US             # required: ISO 3166-1 alpha-2, upper case
        city: Ashburn           # optional
        description: ...        # optional, for the reader of the file only
        cidrs:                  # required, non-empty: CIDRs, IPv4 or IPv6, no host bits set
          - 198.51.100.0/24

A CIDR may appear once in the whole file: the same range in two sites would make the answer
depend on order. Nested ranges are fine (the most specific wins at lookup). Values are read as
the text written (`country: NO` is Norway, not YAML 1.1's false). Errors name the YAML line.
"""

from __future__ import annotations

import re

import yaml

from agent.errors import RangeFileError
from agent.intel.cidr import Cidr, RangeBuilder, parse_cidr
from agent.intel.fields import iso_utc
from agent.intel.records import SITES, Label, RangeSet

TOP = {"version": False, "created": False, "sites": True}
"""Allowed keys, and whether each is required."""
SITE = {"name": True, "country": True, "city": False, "description": False, "cidrs": True}
_CC = re.compile(r"[A-Z]{2}")


def parse_sites(data: bytes, path: str) -> RangeSet:
    try:
        root = yaml.compose(data.decode("utf-8"), Loader=yaml.SafeLoader)
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise RangeFileError(path, f"line {line}", "not UTF-8 text") from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}" if mark else ""
        raise RangeFileError(path, where, f"invalid YAML: {err.problem or err.context}") from None
    except yaml.YAMLError as err:
        raise RangeFileError(path, "", f"invalid YAML: {err}") from None
    if root is None:
        raise RangeFileError(path, "", "empty file: expected a `sites:` list")
    top = _mapping(root, TOP, path)
    version = _text(top["version"], path) if "version" in top else "unversioned"
    created = _created(top["created"], path) if "created" in top else ""
    sites = top["sites"]
    if not isinstance(sites, yaml.SequenceNode) or not sites.value:
        raise RangeFileError(path, _line(sites), "`sites` must be a non-empty list of sites")
    rows = RangeBuilder()
    names: dict[str, int] = {}
    owner: dict[Cidr, tuple[str, int]] = {}
    for node in sites.value:
        site = _mapping(node, SITE, path)
        name = _text(site["name"], path)
        if not name:
            raise RangeFileError(path, _line(site["name"]), "empty site name")
        if name in names:
            why = f"site {name!r} is already defined on line {names[name]}"
            raise RangeFileError(path, _line(site["name"]), why)
        names[name] = _line_no(site["name"])
        country = _text(site["country"], path)
        if not _CC.fullmatch(country):
            why = f"country must be an ISO 3166-1 alpha-2 code like US, not {country!r}"
            raise RangeFileError(path, _line(site["country"]), why)
        city = _text(site["city"], path) if "city" in site else None
        if "description" in site:
            _text(site["description"], path)
        label = Label(country=country, city=city or None, site=name)
        cidrs = site["cidrs"]
        if not isinstance(cidrs, yaml.SequenceNode) or not cidrs.value:
            why = f"site {name!r}: `cidrs` must be a non-empty list"
            raise RangeFileError(path, _line(cidrs), why)
        for item in cidrs.value:
            text = _text(item, path)
            try:
                cidr = parse_cidr(text)
            except ValueError as err:
                raise RangeFileError(path, _line(item), str(err)) from None
            if cidr in owner:
                other, line = owner[cidr]
                why = f"{text} is already listed for site {other!r} on line {line}"
                raise RangeFileError(path, _line(item), why)
            owner[cidr] = (name, _line_no(item))
            rows.add(cidr, label)
    return rows.build("sites", SITES, version, created)


def _mapping(node: yaml.Node, allowed: dict[str, bool], path: str) -> dict[str, yaml.Node]:
    """A YAML mapping's values by key, checked against the allowed keys."""
    if not isinstance(node, yaml.MappingNode):
        keys = ", ".join(f"`{k}`" for k in allowed)
        raise RangeFileError(path, _line(node), f"expected a mapping with {keys}")
    out: dict[str, yaml.Node] = {}
    for key, value in node.value:
        name = _text(key, path)
        if name not in allowed:
            why = f"unknown key {name!r} (expected one of {', '.join(allowed)})"
            raise RangeFileError(path, _line(key), why)
        if name in out:
            raise RangeFileError(path, _line(key), f"key {name!r} given twice")
        out[name] = value
    missing = [k for k, required in allowed.items() if required and k not in out]
    if missing:
        raise RangeFileError(path, _line(node), f"missing key {missing[0]!r}")
    return out


def _text(node: yaml.Node, path: str) -> str:
    """A scalar's text as written; a list or mapping where text belongs is an error."""
    if not isinstance(node, yaml.ScalarNode):
        raise RangeFileError(path, _line(node), "expected a single value, not a list or mapping")
    return str(node.value).strip()


def _created(node: yaml.Node, path: str) -> str:
    return iso_utc(_text(node, path), path, _line(node))


def _line_no(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _line(node: yaml.Node) -> str:
    return f"line {_line_no(node)}"
