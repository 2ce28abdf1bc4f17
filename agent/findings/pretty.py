"""`json.dumps(doc, indent=1, sort_keys=True)`, the same text, in two thirds of the time.

The standard library's C encoder does not indent, so with `indent` every value passes through
its pure-Python generators, one level of them per level of nesting: for the analysis of a large
capture (thousands of destinations) that was a fifth of `analyze --json`. Here containers are
walked by a recursive function that appends to one list and writes each scalar with the same
functions the encoder uses (`encode_basestring_ascii`, `float.__repr__`, `int.__repr__`), and a
container of scalars only (most of them: names, ports, evidence) is written whole by the C
encoder, whose item separator can carry the newline and the indent of its level.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from json.encoder import c_make_encoder  # type: ignore[attr-defined]
from json.encoder import encode_basestring_ascii as _text
from typing import Any

INFINITY = float("inf")


def dumps(obj: Any) -> str:
    """The text `json.dumps(obj, indent=1, sort_keys=True)` gives."""
    out: list[str] = []
    _value(obj, "\n", out)
    return "".join(out)


def _float(f: float) -> str:
    if f != f:
        return "NaN"
    if f == INFINITY:
        return "Infinity"
    if f == -INFINITY:
        return "-Infinity"
    return float.__repr__(f)


SCALARS: dict[type, Callable[[Any], str]] = {
    str: _text, int: int.__repr__, float: _float, bool: lambda b: "true" if b else "false",
    type(None): lambda _: "null",
}  # fmt: skip


def _key(k: Any) -> str:
    """A key as the encoder writes it: text as is, numbers, booleans and null as their JSON."""
    if isinstance(k, str):
        return _text(k)
    if isinstance(k, bool) or k is None:
        return _text(SCALARS[type(k)](k))
    if isinstance(k, int | float):
        return _text(_float(k) if isinstance(k, float) else int.__repr__(k))
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(k).__name__}")


def _value(o: Any, nl: str, out: list[str]) -> None:
    write = SCALARS.get(type(o))
    if write is not None:
        out.append(write(o))
    elif isinstance(o, dict):
        _dict(o, nl, out)
    elif isinstance(o, list | tuple):
        _list(o, nl, out)
    elif isinstance(o, str):
        out.append(_text(o))
    elif isinstance(o, int):
        out.append(int.__repr__(o))
    elif isinstance(o, float):
        out.append(_float(o))
    else:
        raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


@lru_cache(maxsize=64)
def _flat(inner: str) -> Callable[[Any, int], list[str]]:
    """The C encoder for a container of scalars whose items go on lines indented `inner`."""
    return c_make_encoder(None, None, _text, None, ": ", "," + inner, True, False, True)  # type: ignore[no-any-return]


def _dict(o: dict[Any, Any], nl: str, out: list[str]) -> None:
    if not o:
        out.append("{}")
        return
    inner = nl + " "
    if all(type(v) in SCALARS for v in o.values()) and all(type(k) is str for k in o):
        out.append("{" + inner + "".join(_flat(inner)(o, 0))[1:-1] + nl + "}")
        return
    sep = "{" + inner
    for k, v in sorted(o.items()):
        write = SCALARS.get(type(v))
        if write is not None:
            out.append(f"{sep}{_key(k)}: {write(v)}")
        else:
            out.append(f"{sep}{_key(k)}: ")
            _value(v, inner, out)
        sep = "," + inner
    out.append(nl + "}")


def _list(o: list[Any] | tuple[Any, ...], nl: str, out: list[str]) -> None:
    if not o:
        out.append("[]")
        return
    inner = nl + " "
    if all(type(v) in SCALARS for v in o):
        out.append("[" + inner + "".join(_flat(inner)(o, 0))[1:-1] + nl + "]")
        return
    sep = "[" + inner
    for v in o:
        write = SCALARS.get(type(v))
        if write is not None:
            out.append(sep + write(v))
        else:
            out.append(sep)
            _value(v, inner, out)
        sep = "," + inner
    out.append(nl + "]")
