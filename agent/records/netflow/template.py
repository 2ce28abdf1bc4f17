"""NetFlow v9 and IPFIX templates: parsed from template sets, compiled to a record layout.

A template lists (element, length) pairs; a data record is those fields back to back. A
template whose fields all have fixed lengths compiles to one `struct.Struct` (the fields
residency reads, padding for the rest), so a data set decodes in C with `iter_unpack`; one
with variable-length IPFIX fields (RFC 7011 7) is read field by field from the cursor.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from agent.records.netflow.ies import ADDRESS_LENGTH, VARIABLE, role_of
from agent.wire.cursor import Cursor

INT_CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}
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
    unpack: struct.Struct | None
    """The whole record at once; None when a field has a variable length."""
    size: int
    """The record length (fixed), or its least length (variable: one byte per such field)."""
    reads: tuple[tuple[int, int], ...]
    """Per field, (length, index into `roles` or -1 to skip): the variable-length path."""
    odd: tuple[int, ...]
    """Indices of integer values of an odd length (3, 5, 6 ... bytes), unpacked as bytes."""


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
    codes = [">"]
    size = 0
    for f in fields:
        role = role_of(f.ie, f.enterprise) if f.enterprise != SCOPE else ""
        length = f.length
        want = ADDRESS_LENGTH.get(role, length)
        if role and length != VARIABLE and want == length and 0 < length <= 16:
            codes.append(INT_CODES.get(length, f"{length}s") if role not in ADDRESS_LENGTH
                         else f"{length}s")  # fmt: skip
            reads.append((length, len(roles)))
            roles.append(role)
        else:
            codes.append(f"{length}x" if length != VARIABLE else "")
            reads.append((length, -1))
        size += 1 if length == VARIABLE else length
    fixed = all(f.length != VARIABLE for f in fields)
    unpack = struct.Struct("".join(codes)) if fixed else None
    odd = tuple(at for n, at in reads
                if at >= 0 and n not in INT_CODES and roles[at] not in ADDRESS_LENGTH)  # fmt: skip
    return Layout(tuple(roles), unpack, size, tuple(reads), odd)


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
            values[index] = data if layout.roles[index] in ADDRESS_LENGTH else int.from_bytes(data)
    return values
