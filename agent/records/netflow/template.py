"""NetFlow v9 and IPFIX templates: parsed from template sets, compiled to a record layout.

A template lists (element, length) pairs; a data record is those fields back to back. A
template whose fields all have fixed lengths compiles to a numpy structured dtype (the fields
residency reads, big-endian, by role; padding for the rest), so data sets decode as arrays
(`agent.records.netflow.columns`); one with variable-length IPFIX fields (RFC 7011 7) is read
field by field from the cursor.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from agent.records.netflow.ies import ADDRESS_LENGTH, FRAME, VARIABLE, role_of
from agent.wire.cursor import Cursor

SCOPE = -1
"""The enterprise of a NetFlow v9 scope field: its type numbers (1 System, 2 Interface ...)
are not element numbers, so it is skipped."""
FIRST_DATA_SET = 256
"""Set ids from 256 are data sets; template ids below it are padding or invalid."""


@dataclass(frozen=True, slots=True)
class Field:
    ie: int
    length: int
    """Bytes; `VARIABLE` for an IPFIX variable-length field."""
    enterprise: int = 0


@dataclass(frozen=True, slots=True)
class Layout:
    """How to read a template's records: the roles of the values, in order."""

    roles: tuple[str, ...]
    dtype: np.dtype[Any] | None
    """One record, its fields by role; None when a field has a variable length."""
    size: int
    """The record length (fixed), or its least length (variable: one byte per such field)."""
    reads: tuple[tuple[int, int], ...]
    """Per field, (length, index into `roles` or -1 to skip): the variable-length path."""


@dataclass(frozen=True, slots=True)
class Template:
    id: int
    fields: tuple[Field, ...]
    """Empty: the exporter withdrew the template (IPFIX, RFC 7011 8.1)."""
    options: bool = False
    layout: Layout | None = None

    @classmethod
    def of(cls, tid: int, fields: tuple[Field, ...], options: bool) -> Template:
        return cls(tid, fields, options, compile_layout(fields) if fields else None)


def compile_layout(fields: tuple[Field, ...]) -> Layout:
    roles: list[str] = []
    reads: list[tuple[int, int]] = []
    size = 0
    for f in fields:
        role = role_of(f.ie, f.enterprise) if f.enterprise != SCOPE else ""
        length = f.length
        want = ADDRESS_LENGTH.get(role, length)
        if role == FRAME or role and length != VARIABLE and want == length and 0 < length <= 16:
            reads.append((length, len(roles)))
            roles.append(role)
        else:
            reads.append((length, -1))
        size += 1 if length == VARIABLE else length
    fixed = all(f.length != VARIABLE for f in fields)
    layout = Layout(tuple(roles), None, size, tuple(reads))
    return Layout(layout.roles, _dtype(layout), size, layout.reads) if fixed else layout


def _dtype(layout: Layout) -> np.dtype[Any]:
    """A fixed-length record: each field residency reads by its role (the last of two fields
    of one role wins, as in a dict), big-endian; addresses as a 32-bit number or 16 bytes;
    integers of 3, 5, 6 or 7 bytes as their bytes (`columns` joins them); the rest padding."""
    last = {layout.roles[i]: at for at, (_, i) in enumerate(layout.reads) if i >= 0}
    names, formats, offsets, pos = [], [], [], 0
    for at, (length, index) in enumerate(layout.reads):
        role = layout.roles[index] if index >= 0 else ""
        if role and last[role] == at:
            names.append(role)
            offsets.append(pos)
            if role == FRAME:
                formats.append(f"V{length}")
            elif role in ADDRESS_LENGTH:
                formats.append(">u4" if length == 4 else "V16")
            else:
                formats.append(f">u{length}" if length in (1, 2, 4, 8) else f"({length},)u1")
        pos += length
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": pos})


def parse_templates(cur: Cursor, ipfix: bool, options: bool) -> Iterator[Template]:
    """The template records of one (options) template set, to the end of `cur`; what is
    left shorter than a record header, or starting with an id below 256, is padding."""
    while cur.remaining >= 4:
        tid = cur.u16("template id")
        if tid < FIRST_DATA_SET:
            cur.skip(cur.remaining)
            return
        if ipfix:
            count = cur.u16("field count")
            scopes = cur.u16("scope field count") if options and count else 0
            if options and count and not 0 < scopes <= count:
                raise cur.error(f"template {tid}: scope field count {scopes} of {count}")
            fields = tuple(_field(cur, ipfix, False) for _ in range(count))
        elif options:
            scope_len, option_len = cur.u16("option scope length"), cur.u16("option length")
            if scope_len % 4 or option_len % 4:
                raise cur.error(f"template {tid}: scope/option lengths {scope_len}/{option_len}")
            scopes = scope_len // 4
            fields = tuple(_field(cur, ipfix, i < scopes)
                           for i in range(scopes + option_len // 4))  # fmt: skip
        else:
            fields = tuple(_field(cur, ipfix, False) for _ in range(cur.u16("field count")))
        if fields and sum(1 if f.length == VARIABLE else f.length for f in fields) == 0:
            raise cur.error(f"template {tid}: records of 0 bytes")
        yield Template.of(tid, fields, options)


def _field(cur: Cursor, ipfix: bool, scope: bool) -> Field:
    ie, length = cur.u16("field type"), cur.u16("field length")
    enterprise = 0
    if ipfix and ie & 0x8000:
        ie, enterprise = ie & 0x7FFF, cur.u32("enterprise number")
    elif length == VARIABLE and not ipfix:
        raise cur.error(f"field {ie}: variable length in a NetFlow v9 template")
    return Field(ie, length, SCOPE if scope else enterprise)


def read_variable(cur: Cursor, layout: Layout) -> list[object]:
    """One record of a template with variable-length fields (RFC 7011 7: a length byte, or
    255 and a 2-byte length)."""
    values: list[object] = [0] * len(layout.roles)
    for length, index in layout.reads:
        if length == VARIABLE:
            length = cur.u8("variable length")
            if length == 255:
                length = cur.u16("variable length")
        data = cur.bytes(length, "field")
        if index >= 0:
            raw = layout.roles[index] in ADDRESS_LENGTH or layout.roles[index] == FRAME
            values[index] = data if raw else int.from_bytes(data)
    return values
