"""Where two JSON documents first differ, for `report verify` and `fleet verify`: a signed
document against its re-run, compared field by field in sorted key order, so the first field
that differs is named by its path (`headline.approved.flows`, `coverage.not_counted[0].status`)
with what each side says there."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

ABSENT: Any = type("Absent", (), {"__repr__": lambda self: "ABSENT"})()
"""What a side holds at a path where it has no value (a key or a list item only the other has)."""


class Difference(NamedTuple):
    path: str
    """`a.b[0].c`; empty for the documents themselves."""
    want: Any
    got: Any


def shown(value: Any) -> str:
    """One side's value for a message: short JSON, or `nothing` where the side has none."""
    return "nothing" if value is ABSENT else json.dumps(value, sort_keys=True)[:200]


def first_difference(want: Any, got: Any, path: str = "") -> Difference | None:
    """The first path (in sorted key order) where the documents differ, None when equal: `1`,
    `1.0` and `true` differ, a name and the same `StrEnum` member do not."""
    if isinstance(want, dict) and isinstance(got, dict):
        for key in sorted(set(want) | set(got)):
            where = f"{path}.{key}" if path else key
            found = first_difference(want.get(key, ABSENT), got.get(key, ABSENT), where)
            if found:
                return found
        return None
    if isinstance(want, list) and isinstance(got, list):
        for i in range(max(len(want), len(got))):
            a, b = (want[i] if i < len(want) else ABSENT), (got[i] if i < len(got) else ABSENT)
            found = first_difference(a, b, f"{path}[{i}]")
            if found:
                return found
        return None
    same = want == got and (
        type(want) is type(got) or isinstance(want, str) and isinstance(got, str)
    )
    return None if same else Difference(path, want, got)
