"""The operator's own sites (rules/sites.yaml) -> ranges labelled with site, country and city.

A site is a place the operator itself runs, so it is the strongest evidence of where an address
is: it beats the providers' files and country data. Schema (unknown keys are errors, so a typo
like `cidr:` is caught instead of silently ignored):

    version: "2026-08-01"       # optional: the file's own version token (else "unversioned")
    created: 2026-08-01         # optional: when it was written, ISO 8601 (a date is 00:00 UTC)
    sites:                      # required: a list of sites
      - name: example-virginia  # required, unique
        country: US             # required: an assigned ISO 3166-1 alpha-2 code
        city: Ashburn           # optional
        description: ...        # optional, for the reader of the file only
        cidrs:                  # required, non-empty: CIDRs, IPv4 or IPv6, no host bits set
          - 198.51.100.0/24

A CIDR may appear once in the whole file: the same range in two sites would make the answer
depend on order. Nested ranges are fine (the most specific wins at lookup). Values are read as
the text written (`country: NO` is Norway, not YAML 1.1's false). Errors are `file:line:col`.
"""

from __future__ import annotations

import yaml

from agent.errors import RangeFileError
from agent.intel.cidr import Cidr, RangeBuilder, parse_cidr
from agent.intel.countries import parse_country
from agent.intel.fields import iso_utc
from agent.intel.records import SITES, Label, RangeSet
from agent.yamlfile import Bad, Problem, Reader, at, compose, scalar

TOP = ("version", "created", "sites")
SITE = ("name", "country", "city", "description", "cidrs")


def parse_sites(data: bytes, path: str) -> RangeSet:
    """The file's ranges; its first mistake (in file order) raised as a RangeFileError."""
    reader = _Reader(path)
    try:
        root = compose(data)
    except Bad as bad:
        raise _error(path, bad.problem) from None
    if root is None:
        raise RangeFileError(path, "", "empty file: expected a `sites:` list")
    top = reader.mapping(root, TOP, required=("sites",), what="a mapping with `sites`")
    version = reader.guard(lambda: scalar(top["version"]), "") if "version" in top else ""
    created = reader.guard(lambda: reader.created(top["created"]), "") if "created" in top else ""
    sites = top.get("sites")
    if sites is not None and (not isinstance(sites, yaml.SequenceNode) or not sites.value):
        reader.add(at(sites, "`sites` must be a non-empty list of sites"))
    elif sites is not None:
        for node in sites.value:
            reader.guard(lambda n=node: reader.site(n), None)  # type: ignore[misc]
    if reader.problems:
        raise _error(path, min(reader.problems))
    return reader.rows.build("sites", SITES, version or "unversioned", created)


def _error(path: str, problem: Problem) -> RangeFileError:
    return RangeFileError(path, f"{problem.line}:{problem.col}", problem.message)


class _Reader(Reader):
    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.rows = RangeBuilder()
        self.names: dict[str, int] = {}
        """Site name -> its line."""
        self.owner: dict[Cidr, tuple[str, int]] = {}
        """CIDR -> the site that lists it, and the line."""

    def site(self, node: yaml.Node) -> None:
        site = self.mapping(node, SITE, required=("name", "country", "cidrs"),
                            what="a mapping with `name`, `country` and `cidrs`")  # fmt: skip
        if "name" not in site or "country" not in site:
            return
        name = scalar(site["name"])
        if not name:
            raise Bad(at(site["name"], "empty site name"))
        if name in self.names:
            raise Bad(at(site["name"], f"site {name!r} is already defined on line "
                                       f"{self.names[name]}"))  # fmt: skip
        self.names[name] = _line(site["name"])
        country = self.guard(lambda: parse_country(site["country"]), "")
        city = self.guard(lambda: scalar(site["city"]), "") if "city" in site else ""
        if "description" in site:
            self.guard(lambda: scalar(site["description"]), "")
        cidrs = site.get("cidrs")
        if cidrs is None:
            return
        if not isinstance(cidrs, yaml.SequenceNode) or not cidrs.value:
            raise Bad(at(cidrs, f"site {name!r}: `cidrs` must be a non-empty list"))
        label = Label(country=country, city=city or None, site=name)
        for item in cidrs.value:
            self.guard(lambda i=item: self.cidr(i, name, label), None)  # type: ignore[misc]

    def cidr(self, node: yaml.Node, site: str, label: Label) -> None:
        text = scalar(node)
        try:
            cidr = parse_cidr(text)
        except ValueError as err:
            raise Bad(at(node, str(err))) from None
        if cidr in self.owner:
            other, line = self.owner[cidr]
            raise Bad(at(node, f"{text} is already listed for site {other!r} on line {line}"))
        self.owner[cidr] = (site, _line(node))
        self.rows.add(cidr, label)

    def created(self, node: yaml.Node) -> str:
        try:
            return iso_utc(scalar(node), self.path, "")
        except RangeFileError as err:
            raise Bad(at(node, err.reason)) from None


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1
