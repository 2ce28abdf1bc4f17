"""`residency fleet verify`: a fleet report's signature, then its re-run compared field by field;
the first field that differs is named by its path (`headline.approved.flows`,
`coverage.not_counted[0].status`)."""

from __future__ import annotations

from typing import Any


def first_difference(want: Any, got: Any, path: str = "") -> str | None:
    """The path of the first value (in sorted key order) that differs, None when equal: `1`,
    `1.0` and `true` differ, a name and the same `StrEnum` member do not."""
    if isinstance(want, dict) and isinstance(got, dict):
        for key in sorted(set(want) | set(got)):
            where = f"{path}.{key}" if path else key
            if key not in want or key not in got:
                return where
            found = first_difference(want[key], got[key], where)
            if found:
                return found
        return None
    if isinstance(want, list) and isinstance(got, list):
        for i, (a, b) in enumerate(zip(want, got, strict=False)):
            found = first_difference(a, b, f"{path}[{i}]")
            if found:
                return found
        return None if len(want) == len(got) else f"{path}[{min(len(want), len(got))}]"
    same = want == got and (
        type(want) is type(got) or isinstance(want, str) and isinstance(got, str)
    )
    return None if same else path or "(document)"
