"""What every JSON flow log parser needs: the documents of a file with their lines, fields
fetched by JSON path with a clear complaint, and times as ns since the epoch, exactly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from agent.errors import CorruptRecords

NS = 1_000_000_000


class Bad(ValueError):
    """A field is missing or wrong: `at` is its JSON path inside the document."""

    def __init__(self, at: str, reason: str) -> None:
        self.at = at
        super().__init__(f"{at}: {reason}" if at else reason)


def json_documents(data: bytes, path: str) -> Iterator[tuple[int, Any]]:
    """(first line, document) for a file of one JSON document, an array of them, JSON lines,
    or documents one after another; damage is CorruptRecords at its line, after the documents
    before it were given."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise CorruptRecords(path, f"offset {err.start}", "not UTF-8 text", err.start) from err
    decoder = json.JSONDecoder(parse_float=Decimal)
    pos, end = _skip(text, 0), len(text)
    inside = text.startswith("[", pos)  # a top-level array: its elements are the documents
    pos = _skip(text, pos + 1) if inside else pos
    line, counted = 1, 0
    while pos < end:
        if inside and text.startswith("]", pos):
            return
        try:
            doc, after = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as err:
            where = f"line {err.lineno}"
            raise CorruptRecords(path, where, f"not JSON: {err.msg}", err.pos) from err
        line, counted = line + text.count("\n", counted, pos), pos
        yield line, doc
        pos = _skip(text, after)
        if inside and text.startswith(",", pos):
            pos = _skip(text, pos + 1)


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def need(doc: Any, key: str, kind: type | tuple[type, ...], at: str) -> Any:
    """`doc[key]`, which must be of `kind`; Bad naming `at.key` otherwise."""
    here = f"{at}.{key}" if at else key
    if not isinstance(doc, dict):
        raise Bad(at, "not an object")
    if key not in doc:
        raise Bad(here, "missing")
    value = doc[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise Bad(here, f"{type(value).__name__}, not the expected type")
    return value


def whole(value: Any, at: str) -> int:
    """A count or port given as a number or a string of digits (GCP writes counts as text)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise Bad(at, f"{value!r} is not a whole number")


def seconds_ns(value: Any, at: str) -> int:
    """Epoch seconds (an int, a decimal, or digits in a string) -> ns, without float rounding."""
    try:
        return int(Decimal(str(value)) * NS)
    except (InvalidOperation, ValueError) as err:
        raise Bad(at, f"{value!r} is not a time in seconds") from err


def rfc3339_ns(text: Any, at: str) -> int:
    """`2025-09-27T21:34:39.250342106Z` -> ns since the epoch, every digit kept."""
    if not isinstance(text, str):
        raise Bad(at, f"{text!r} is not a time")
    stem, _, frac = text.rstrip("Z").partition(".")
    zone = ""
    for sign in "+-":
        if sign in frac:
            frac, _, rest = frac.partition(sign)
            zone = sign + rest
    try:
        when = datetime.fromisoformat(stem + (zone or "+00:00"))
    except ValueError as err:
        raise Bad(at, f"{text!r} is not an RFC 3339 time") from err
    if not frac.isdigit() and frac:
        raise Bad(at, f"{text!r} is not an RFC 3339 time")
    base = int((when - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * NS
    return base + int((frac + "000000000")[:9])
