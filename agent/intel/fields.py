"""Typed field access for the providers' JSON files, each failure a `RangeFileError` that names the
entry (`prefixes[17].ip_prefix`), so a damaged or hand-edited file can be found and fixed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, TypeVar

from agent.errors import RangeFileError
from agent.intel.cidr import Cidr, parse_cidr

T = TypeVar("T")

_NAMES = {str: "a string", int: "an integer", list: "a list", dict: "an object"}


def load_json(data: bytes, path: str) -> Any:
    """The document; invalid or cut-off JSON is reported at its line and column."""
    try:
        return json.loads(data)
    except json.JSONDecodeError as err:
        ended = err.pos >= len(data.rstrip()) or err.msg.startswith("Unterminated string")
        cut = " (the file looks cut off)" if ended else ""
        raise RangeFileError(
            path, f"line {err.lineno} column {err.colno}", f"invalid JSON: {err.msg}{cut}"
        ) from None
    except (UnicodeDecodeError, RecursionError) as err:
        raise RangeFileError(path, "", f"invalid JSON: {err}") from None


def join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def need_object(obj: Any, path: str, where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise RangeFileError(path, where or "top level", f"expected an object, found {_what(obj)}")
    return obj


def need(obj: Any, key: str, kind: type[T], path: str, where: str) -> T:
    """`obj[key]`, which must be there and be of `kind` (a bool is no integer here)."""
    if key not in need_object(obj, path, where):
        raise RangeFileError(path, where or "top level", f"missing field {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        expected = _NAMES.get(kind, kind.__name__)
        raise RangeFileError(path, join(where, key), f"expected {expected}, found {_what(value)}")
    return value


def text_list(obj: Any, key: str, path: str, where: str) -> list[str]:
    """`obj[key]` as a list of strings."""
    items = need(obj, key, list, path, where)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            at = f"{join(where, key)}[{i}]"
            raise RangeFileError(path, at, f"expected a string, found {_what(item)}")
    return items


def cidr_at(text: str, path: str, where: str) -> Cidr:
    try:
        return parse_cidr(text)
    except ValueError as err:
        raise RangeFileError(path, where, str(err)) from None


def iso_utc(text: str, path: str, where: str, fmt: str | None = None) -> str:
    """A provider's timestamp as ISO 8601 UTC; the providers write UTC without saying so."""
    try:
        when = datetime.strptime(text, fmt) if fmt else datetime.fromisoformat(text)
    except ValueError:
        raise RangeFileError(path, where, f"not a timestamp: {text!r}") from None
    return (when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)).isoformat()


def _what(value: object) -> str:
    if value is None:
        return "null"
    return _NAMES.get(type(value), type(value).__name__)
