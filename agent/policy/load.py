"""Policy YAML -> `Policy`, with every mistake reported as `file:line:col: message`.

Read by the one YAML reader (`agent.yamlfile`), so each value keeps its position, and every
problem in the file is collected (not just the first): `residency policy check` lists them all,
and the other commands stop at the first. Unknown keys are errors: a typo like `region:` for
`regions:` would otherwise approve everything silently.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import yaml

from agent.errors import PolicyError
from agent.files import input_name, open_input
from agent.intel.cidr import Cidr, parse_address, parse_cidr
from agent.intel.countries import parse_country
from agent.policy.model import (
    PROVIDERS,
    Access,
    Exception_,
    Match,
    Policy,
    Rule,
    Spot,
)
from agent.wire.keywords import RULE_PROTOCOLS, protocol_number
from agent.yamlfile import Bad, Problem, Reader, at, compose, each, is_null, scalar

SCHEMA_VERSION = 1
TRAFFIC = ("local", "remote", "ports", "protocols", "interfaces", "classes", "sites", "names",
           "processes", "executables", "users")  # fmt: skip
"""Keys that select flows (scope include/exclude)."""
ENDPOINT = ("provider", "regions", "border_groups", "services", "sites", "networks", "countries",
            "names")  # fmt: skip
"""Keys that say where a flow may end (approvals, exceptions)."""
SECTIONS = {
    "include": {"name", "description", *TRAFFIC},
    "exclude": {"name", "reason", *TRAFFIC},
    "approve": {"name", "description", "ports", "protocols", *ENDPOINT},
    "exceptions": {"name", "reason", "until", "since", "local", "ports", "protocols", *ENDPOINT},
    "access.protect": {"name", "description", "networks", "ports", "protocols", "interfaces",
                       "processes", "executables", "users"},
    "access.allow": {"name", "description", "ports", "protocols", "classes", *ENDPOINT},
    "access.exceptions": {"name", "reason", "until", "since", "ports", "protocols", "classes",
                          *ENDPOINT},
}  # fmt: skip
FIELDS = {
    "access.protect": {"networks": "local", "ports": "local_ports"},
    "access.allow": {"networks": "remote", "ports": "local_ports"},
    "access.exceptions": {"networks": "remote", "ports": "local_ports"},
}
"""A key's `Match` field where it is not the key itself: outbound `networks` are the remote
side; in access rules `networks` and `ports` of `protect` are the serving (local) side, and in
`allow` and its exceptions `networks` is the origin and `ports` the protected service's port."""
CHECKED = ("provider", "regions", "border_groups", "sites", "until", "names", "interfaces",
           "processes", "executables", "users")  # fmt: skip
"""Keys whose values `policy check` compares with the stored range data and the date, or warns
about (catch-all names, live-only keys)."""
TOP = ("version", "name", "description", "scope", "approve", "exceptions", "access")
_USERISH = re.compile(r"[^\s]+")
T = TypeVar("T")


def load_policy(path: str, file: str | None = None) -> Policy:
    """Read and parse a policy file; the first problem is raised as a PolicyError. `file`: the
    name its rules are cited by (default: its own file name, `input_name`)."""
    with open_input(path) as f:
        data = f.read()
    policy, problems = parse_policy(data, path, file)
    if problems:
        first = problems[0]
        raise PolicyError(path, first.line, first.col, first.message)
    assert policy is not None
    return policy


def parse_policy(
    data: bytes, path: str, file: str | None = None
) -> tuple[Policy | None, list[Problem]]:
    """-> (the policy, or None if it has errors; every problem found, in file order). Rules
    are cited as `file:line`, by `file` (default: the file name of `path`), so that the same
    policy gives the same citations however its path was typed."""
    policy, problems = read_policy(data, path, file)
    return (None if problems else policy), problems


def read_policy(
    data: bytes, path: str, file: str | None = None
) -> tuple[Policy | None, list[Problem]]:
    """`parse_policy`, but the policy as far as it could be read even when it has problems
    (a rule keeps the values that were right), so `policy check` can check those too; None
    only when the file is not a YAML mapping."""
    try:
        root = compose(data)
    except Bad as bad:
        return None, [bad.problem]
    if not isinstance(root, yaml.MappingNode):
        return None, [Problem(1, 1, "a policy is a mapping with `version`, `scope` and `approve`")]
    reader = _Reader(path, file or input_name(path))
    policy = reader.policy(root, data.decode("utf-8"), hashlib.sha256(data).hexdigest())
    return policy, sorted(reader.problems)


class _Reader(Reader):
    def __init__(self, path: str, file: str) -> None:
        super().__init__()
        self.path, self.file = path, file
        self.seen: dict[str, str] = {}
        """Rule names already read -> where."""

    def policy(self, root: yaml.MappingNode, text: str, sha256: str) -> Policy:
        top = self.mapping(root, TOP, required=("version", "scope", "approve"))
        version = self.guard(lambda: _version(top["version"]), 0) if "version" in top else 0
        name = self.guard(lambda: scalar(top["name"]), "") if "name" in top else ""
        if "description" in top:
            self.guard(lambda: scalar(top["description"]), "")
        include: tuple[Rule, ...] = ()
        exclude: tuple[Rule, ...] = ()
        if "scope" in top:
            scope = self.mapping(top["scope"], ("include", "exclude"), required=("include",))
            include = self.rules(scope.get("include"), "include", required=True)
            exclude = self.rules(scope.get("exclude"), "exclude")
        approve = self.rules(top.get("approve"), "approve", required=True)
        exceptions = self.rules(top.get("exceptions"), "exceptions")
        access = self.access(top["access"]) if "access" in top else Access()
        return Policy(self.path, sha256, text, name, version, include, exclude, approve,
                      _exceptions(exceptions), self.file, access)  # fmt: skip

    def access(self, node: yaml.Node) -> Access:
        """`access:` with `protect` (required), `allow` and `exceptions`."""
        section = self.mapping(node, ("protect", "allow", "exceptions"), required=("protect",))
        protect = self.rules(section.get("protect"), "access.protect", required=True)
        allow = self.rules(section.get("allow"), "access.allow")
        exceptions = self.rules(section.get("exceptions"), "access.exceptions")
        return Access(protect, allow, _exceptions(exceptions))

    def rules(
        self, node: yaml.Node | None, section: str, required: bool = False
    ) -> tuple[Rule, ...]:
        if node is None or is_null(node):
            if required and node is not None:
                self.add(at(node, f"`{section}` needs at least one rule"))
            return ()
        if not isinstance(node, yaml.SequenceNode) or (required and not node.value):
            self.add(at(node, f"`{section}` must be a list of rules"))
            return ()
        out = []
        for i, item in enumerate(node.value):
            rule = self.rule(item, section, i)
            if rule is not None:
                out.append(rule)
        return tuple(out)

    def rule(self, node: yaml.Node, section: str, i: int) -> Rule | None:
        """A rule, with the values that are right if some are not (their problems kept)."""
        exception = section.endswith("exceptions")
        required = ("name", "until", "reason") if exception else ()
        before = len(self.problems)
        fields = self.mapping(node, SECTIONS[section], required)
        if not isinstance(node, yaml.MappingNode):
            return None
        values: dict[str, Any] = {}
        kept: set[str] = set()
        """Keys whose values were right: only their spots are checked later."""
        for key, value in fields.items():
            if key in ("name", "description", "reason", "until", "since"):
                continue
            parsed = self.guard(lambda k=key, v=value: _VALUES[k](v), None)  # type: ignore[misc]
            if parsed is not None:
                values[FIELDS.get(section, _OUTBOUND).get(key, key)] = parsed
                kept.add(key)
        if not values and len(self.problems) == before:
            self.add(at(node, f"a rule in `{section}` must select something"))
        name = self.guard(lambda: scalar(fields["name"]), "") if "name" in fields else ""
        name = name or f"{section}[{i}]"
        where = f"{self.file}:{node.start_mark.line + 1}"
        if name in self.seen:
            why = f"rule name {name!r} is already used at {self.seen[name]}"
            self.add(at(fields.get("name", node), why))
        self.seen.setdefault(name, where)
        said = fields.get("reason") or fields.get("description")  # why the rule is there
        reason = self.guard(lambda: scalar(said), "") if said else ""
        dates = {k: self.guard(lambda k=k: _date(fields[k]), None)  # type: ignore[misc]
                 for k in ("until", "since") if k in fields}  # fmt: skip
        until, since = dates.get("until"), dates.get("since")
        if until and since and since > until:
            why = (f"exception {name!r} starts on {since}, after its `until` ({until}): it "
                   "would exempt nothing")  # fmt: skip
            self.add(at(fields["since"], why))
        match = Match(**values)
        kept.update(k for k, day in dates.items() if day)
        spots = tuple(
            Spot(key, scalar(item), item.start_mark.line + 1, item.start_mark.column + 1)
            for key, value in fields.items() if key in CHECKED and key in kept
            for item in _items(value)
        )  # fmt: skip
        start = (node.start_mark.line + 1, node.start_mark.column + 1)
        if exception:
            return Exception_(name, match, where, reason, spots, start, until or date.min, since)
        return Rule(name, match, where, reason, spots, start)


_OUTBOUND = {"networks": "remote"}


def _exceptions(rules: tuple[Rule, ...]) -> tuple[Exception_, ...]:
    return tuple(r for r in rules if isinstance(r, Exception_))


def _items(node: yaml.Node) -> list[yaml.Node]:
    """A list's items; a single value counts as a list of one."""
    if isinstance(node, yaml.SequenceNode):
        if not node.value:
            raise Bad(at(node, "empty list: it would match nothing; leave the key out instead"))
        return list(node.value)
    if isinstance(node, yaml.ScalarNode):
        return [node]
    raise Bad(at(node, "expected a value or a list of values"))


def _each(parse: Callable[[yaml.Node], T]) -> Callable[[yaml.Node], tuple[T, ...]]:
    return lambda node: tuple(each(parse, _items(node)))


def _version(node: yaml.Node) -> int:
    if scalar(node) != str(SCHEMA_VERSION):
        raise Bad(at(node, f"unsupported policy version {scalar(node)!r} (this residency reads 1)"))
    return SCHEMA_VERSION


def _network(node: yaml.Node) -> Cidr:
    """A CIDR, or a single address (a /32 or /128)."""
    text = scalar(node)
    try:
        if "/" not in text:
            parse_address(text)
            text += "/128" if ":" in text else "/32"
        return parse_cidr(text, spans_v4=True)
    except ValueError as err:
        raise Bad(at(node, str(err))) from None


def _port(node: yaml.Node) -> tuple[int, int]:
    text = scalar(node)
    low, dash, high = text.partition("-")
    try:
        pair = (int(low), int(high) if dash else int(low))
    except ValueError:
        raise Bad(at(node, f"not a port or port range: {text!r}")) from None
    if not (0 <= pair[0] <= pair[1] <= 65535):
        raise Bad(at(node, f"port range out of 0-65535 or reversed: {text!r}"))
    return pair


def _protocol(node: yaml.Node) -> int:
    text = scalar(node).lower()
    number = protocol_number(text)
    if number is None:
        why = f"unknown protocol {text!r} (use {', '.join(RULE_PROTOCOLS)} or a number)"
        raise Bad(at(node, why))
    return number


def _provider(node: yaml.Node) -> str:
    text = scalar(node).lower()
    if text not in PROVIDERS:
        raise Bad(at(node, f"unknown provider {text!r} (one of {', '.join(PROVIDERS)})"))
    return text


def _glob(node: yaml.Node) -> str:
    text = scalar(node).lower().rstrip(".")
    if not text or any(c.isspace() for c in text):
        raise Bad(at(node, f"not a name pattern: {text!r}"))
    fnmatch.translate(text)
    return text


def _word(node: yaml.Node) -> str:
    text = scalar(node)
    if not _USERISH.fullmatch(text):
        raise Bad(at(node, f"expected one word, not {text!r}"))
    return text


def _date(node: yaml.Node) -> date:
    text = scalar(node)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Bad(at(node, f"not a date (YYYY-MM-DD): {text!r}")) from None


def _set(parse: Callable[[yaml.Node], str]) -> Callable[[yaml.Node], frozenset[str]]:
    return lambda node: frozenset(_each(parse)(node))


_VALUES: dict[str, Callable[[yaml.Node], Any]] = {
    "local": _each(_network),
    "remote": _each(_network),
    "networks": _each(_network),
    "ports": _each(_port),
    "protocols": lambda n: frozenset(_each(_protocol)(n)),
    "interfaces": _set(_word),
    "classes": _set(_word),
    "provider": _provider,
    "regions": _set(_word),
    "border_groups": _set(_word),
    "services": _set(_word),
    "sites": _set(_word),
    "countries": _set(parse_country),
    "names": _each(_glob),
    "processes": _set(_word),
    "executables": _each(scalar),
    "users": _set(_word),
}
