"""DNS messages (RFC 1035) from UDP payloads and TCP streams: the names that bind to addresses.

Only A, AAAA and CNAME data is decoded, because those are what tie a name to an address; other
records keep their type so counts stay honest. Names are lower-cased (DNS is case-insensitive and
0x20-randomising resolvers mix case). Compression pointers must point strictly backwards, so a
hostile message cannot loop. A name that is not a valid host name is kept but flagged: a flow is
never labelled with a name the wire could have forged into nonsense.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from agent.wire.cursor import Cursor, DecodeError, Truncated

LAYER = "dns"
A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, OPT = 1, 2, 5, 6, 12, 15, 16, 28, 41
MAX_LABEL = 63
MAX_NAME = 255  # wire length, length bytes and the root label included

_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)\Z")
_PLAIN = re.compile(rb"[\x21-\x2d\x2f-\x5b\x5d-\x7e]*\Z")
"""Bytes `_label_text` writes as they are: printable ASCII but for the dot and the backslash."""


@dataclass(frozen=True, slots=True)
class DnsQuestion:
    name: str
    type: int
    klass: int


@dataclass(frozen=True, slots=True)
class DnsRecord:
    """One resource record. `data` is the address or CNAME target; None for other types."""

    name: str
    type: int
    ttl: int
    data: str | None

    @property
    def trusted(self) -> bool:
        """Both the owner name and a CNAME target are valid host names."""
        if not valid_hostname(self.name):
            return False
        return self.type != CNAME or (self.data is not None and valid_hostname(self.data))


@dataclass(frozen=True, slots=True)
class DnsMessage:
    id: int
    is_response: bool
    opcode: int
    rcode: int
    truncated: bool
    cut_short: bool
    questions: tuple[DnsQuestion, ...]
    answers: tuple[DnsRecord, ...]
    authority: tuple[DnsRecord, ...]
    additional: tuple[DnsRecord, ...]

    def records(self) -> tuple[DnsRecord, ...]:
        """Every record of every section, answers first."""
        return self.answers + self.authority + self.additional


def valid_hostname(name: str) -> bool:
    """LDH labels (underscore allowed, as in service names), each 1..63, at most 253 in all.

    A trailing dot is accepted; the root name, escaped bytes and empty labels are not.
    """
    if name.endswith("."):
        name = name[:-1]
    if not name or len(name) > 253:
        return False
    return all(_LABEL.match(label) for label in name.lower().split("."))


def _label_text(raw: bytes) -> str:
    """Printable ASCII as is; anything else (and a dot or backslash inside a label) as \\DDD."""
    raw = raw.lower()
    if _PLAIN.match(raw):  # the usual label: nothing to escape
        return raw.decode("ascii")
    out = []
    for b in raw:
        if 0x21 <= b <= 0x7E and b not in (0x2E, 0x5C):
            out.append(chr(b))
        else:
            out.append(f"\\{b:03d}")
    return "".join(out)


def read_name(msg: Cursor, cur: Cursor) -> str:
    """A possibly compressed name at `cur`; pointers are resolved in `msg`, the whole message.

    Each pointer must target a position before the previous one (or before the name's start),
    so following them always ends (dnspython's rule).
    """
    labels: list[str] = []
    wire = 0
    limit = cur.offset
    here = cur
    while True:
        start = here.offset
        n = here.u8("label length")
        if n == 0:
            wire += 1
            break
        kind = n & 0xC0
        if kind == 0xC0:
            target = ((n & 0x3F) << 8) | here.u8("pointer")
            if target >= limit:
                raise msg.error(f"compression pointer to {target} does not point backwards", start)
            limit = target
            here = msg.at(target)
            continue
        if kind:
            raise msg.error(f"label type {kind:#04x} is not supported", start)
        wire += 1 + n
        if wire + 1 > MAX_NAME:
            raise msg.error("name longer than 255 bytes", start)
        labels.append(_label_text(here.bytes(n, "label")))
    return ".".join(labels)


def _record(msg: Cursor) -> DnsRecord:
    name = read_name(msg, msg)
    rtype = msg.u16("type")
    msg.u16("class")
    ttl = msg.u32("ttl")
    rdlength = msg.u16("rdlength")
    rdata = msg.restrict_to(rdlength, "rdata")
    data: str | None = None
    if rtype == A:
        if rdlength != 4:
            raise rdata.error(f"A record with {rdlength} bytes of data")
        data = str(ipaddress.IPv4Address(rdata.bytes(4)))
    elif rtype == AAAA:
        if rdlength != 16:
            raise rdata.error(f"AAAA record with {rdlength} bytes of data")
        data = str(ipaddress.IPv6Address(rdata.bytes(16)))
    elif rtype == CNAME:
        data = read_name(msg, rdata)
        rdata.expect_end("CNAME data")
    return DnsRecord(name, rtype, ttl, data)


def parse_dns(message: bytes, *, partial: bool = False) -> DnsMessage:
    """One whole DNS message (a UDP payload, or one frame of a TCP stream).

    A message that ends early raises `Truncated`; with `partial`, the records read before the
    end are returned instead, marked `cut_short` (a snapped or cut UDP datagram will never grow,
    and its first answers are still what the resolver said).
    """
    msg = Cursor(message, LAYER)
    ident = msg.u16("id")
    flags = msg.u16("flags")
    qd, an, ns, ar = (msg.u16("count") for _ in range(4))
    questions = []
    for _ in range(qd):
        name = read_name(msg, msg)
        questions.append(DnsQuestion(name, msg.u16("qtype"), msg.u16("qclass")))
    sections: list[tuple[DnsRecord, ...]] = []
    cut_short = False
    for count in (an, ns, ar):
        records: list[DnsRecord] = []
        try:
            while len(records) < count and not cut_short:
                records.append(_record(msg))
        except Truncated:
            if not partial:
                raise
            cut_short = True
        sections.append(tuple(records))
    return DnsMessage(
        id=ident,
        is_response=bool(flags & 0x8000),
        opcode=(flags >> 11) & 0xF,
        rcode=flags & 0xF,
        truncated=bool(flags & 0x0200),
        cut_short=cut_short,
        questions=tuple(questions),
        answers=sections[0],
        authority=sections[1],
        additional=sections[2],
    )


def dns_over_tcp(stream: bytes) -> tuple[tuple[DnsMessage, ...], int]:
    """The complete messages at the start of a DNS-over-TCP stream (RFC 1035 4.2.2 framing).

    Returns the messages and how many bytes they used; whatever is left is an incomplete frame
    (need more). A message shorter than its length prefix says is a `DecodeError`, not
    `Truncated`: its frame was complete.
    """
    out: list[DnsMessage] = []
    pos = 0
    while len(stream) - pos >= 2:
        length = (stream[pos] << 8) | stream[pos + 1]
        if len(stream) - pos - 2 < length:
            break
        try:
            out.append(parse_dns(stream[pos + 2 : pos + 2 + length]))
        except Truncated as err:
            reason = f"frame too short: {err.reason}"
            raise DecodeError(LAYER, pos + 2 + err.offset, reason) from err
        except DecodeError as err:
            raise DecodeError(LAYER, pos + 2 + err.offset, err.reason) from err
        pos += 2 + length
    return tuple(out), pos
