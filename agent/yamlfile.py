"""The one reader of residency's YAML files: the policy, the operator's sites and the daemon's
configuration. Each mistake is a `Problem` at `file:line:col`, so all three say it one way.

The YAML is composed, not loaded: every value keeps the position it was written at, and every
value is read as the text written (`country: NO` is Norway, not YAML 1.1's false). A key given
twice is an error (a YAML loader would keep the last silently), and so is an unknown key, with
the closest allowed one suggested: a typo like `region:` for `regions:` must not be ignored.
A `Reader` collects problems instead of stopping at the first, so a file is fixed in one go.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Iterable
from typing import NamedTuple, TypeVar

import yaml

T = TypeVar("T")


class Problem(NamedTuple):
    line: int
    """1-based; so is `col`."""
    col: int
    message: str

    def at(self, path: str) -> str:
        """The one shape every YAML mistake is printed in: `file:line:col: message`."""
        return f"{path}:{self.line}:{self.col}: {self.message}"


class Bad(Exception):
    """A problem inside a value (or one per bad item of a list): raised by the value readers,
    collected by `Reader.guard`."""

    def __init__(self, problem: Problem, *more: Problem) -> None:
        super().__init__(problem.message)
        self.problem, self.problems = problem, (problem, *more)


def at(node: yaml.Node, message: str) -> Problem:
    """A problem at a node's first character."""
    return Problem(node.start_mark.line + 1, node.start_mark.column + 1, message)


def compose(data: bytes) -> yaml.Node | None:
    """Bytes -> the document's root node (None for an empty document); `Bad` if they are not
    UTF-8 or not YAML, at the position the parser stopped."""
    try:
        return yaml.compose(data.decode("utf-8"), Loader=yaml.SafeLoader)
    except UnicodeDecodeError as err:
        raise Bad(Problem(data.count(b"\n", 0, err.start) + 1, 1, "not UTF-8 text")) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise Bad(Problem(line, col, f"invalid YAML: {err.problem or err.context}")) from None
    except yaml.YAMLError as err:  # a stream error (a control character) has no mark
        raise Bad(Problem(1, 1, f"invalid YAML: {err}")) from None


def suggest(name: str, choices: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for the closest of `choices`, or nothing if none is close."""
    close = _closest(name, choices)
    return f" (did you mean {close!r}?)" if close else ""


def _closest(name: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.75)
    return close[0] if close else None


def scalar(node: yaml.Node) -> str:
    """A scalar's text as written; a list or mapping where one value belongs is `Bad`."""
    if not isinstance(node, yaml.ScalarNode):
        raise Bad(at(node, "expected a single value, not a list or mapping"))
    return str(node.value).strip()


def each(read: Callable[[yaml.Node], T], nodes: Iterable[yaml.Node]) -> list[T]:
    """`read` of every node; `Bad` with the problem of each node that is wrong."""
    out: list[T] = []
    problems: list[Problem] = []
    for node in nodes:
        try:
            out.append(read(node))
        except Bad as bad:
            problems += bad.problems
    if problems:
        raise Bad(*problems)
    return out


def is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")


class Reader:
    """Reads mappings and values, keeping every problem in `problems` and going on."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def mapping(
        self, node: yaml.Node, allowed: Collection[str], required: Iterable[str] = (),
        noun: str = "key", what: str = "a mapping",
    ) -> dict[str, yaml.Node]:  # fmt: skip
        """A mapping's values by key, each key allowed and given once, the required ones
        there; `noun` names keys in messages ("setting"), `what` the mapping expected."""
        if not isinstance(node, yaml.MappingNode):
            self.add(at(node, f"expected {what}"))
            return {}
        out: dict[str, yaml.Node] = {}
        meant: set[str] = set()
        """Keys suggested for unknown ones: not also reported missing (one typo, one line)."""
        for key, value in node.value:
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
            if name not in allowed:
                close = _closest(name, allowed)
                meant.add(close or "")
                hint = f" (did you mean {close!r}?)" if close else (
                    f" (expected one of {', '.join(sorted(allowed))})")  # fmt: skip
                self.add(at(key, f"unknown {noun} {name!r}{hint}"))
            elif name in out:
                self.add(at(key, f"{noun} {name!r} given twice"))
            else:
                out[name] = value
        for name in required:
            if name not in out and name not in meant:
                self.add(at(node, f"missing {noun} {name!r}"))
        return out

    def guard(self, read: Callable[[], T], default: T) -> T:
        """`read()`, or `default` with its problem kept."""
        try:
            return read()
        except Bad as bad:
            self.problems += bad.problems
            return default
