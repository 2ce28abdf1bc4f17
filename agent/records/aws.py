"""AWS VPC and Transit Gateway flow logs (text, S3 or CloudWatch) -> FlowRecords and gaps.

A record is space-separated values in the order of the flow log's format: every field is read
by name, never by position, from a header line (S3 delivery writes one, and again after each
file part) or from a declared `--format` string (CloudWatch has no header; without either, the
v2 default format). `-` is "no value". A line with more or fewer values than the format has
fields is damage at that line: records before it stand. A NODATA or SKIPDATA `log-status` is a
coverage gap of the interface for the record's window; a record that nonetheless carries an
address pair (as TGW SKIPDATA records do) also stands for the traffic it counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from agent.errors import CorruptRecords
from agent.records.model import Action, CoverageGap, FlowRecord, Gap, Item, Where

V2_FIELDS = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "
    "start end action log-status"
).split()
"""The default format, the only one a file without a header line can be read by."""
VPC_FIELDS = (
    V2_FIELDS
    + (
        "vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id "
        "sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction "
        "traffic-path ecs-cluster-arn ecs-cluster-name ecs-container-instance-arn "
        "ecs-container-instance-id ecs-container-id ecs-second-container-id ecs-service-name "
        "ecs-task-definition-arn ecs-task-arn ecs-task-id reject-reason"
    ).split()
)
"""Every VPC flow log field of versions 2 to 8."""
TGW_FIELDS = (
    "resource-type tgw-id tgw-attachment-id tgw-src-vpc-account-id tgw-dst-vpc-account-id "
    "tgw-src-vpc-id tgw-dst-vpc-id tgw-src-subnet-id tgw-dst-subnet-id tgw-src-eni tgw-dst-eni "
    "tgw-src-az-id tgw-dst-az-id tgw-pair-attachment-id packets-lost-no-route "
    "packets-lost-blackhole packets-lost-mtu-exceeded packets-lost-ttl-expired"
).split()
"""The Transit Gateway flow log fields that VPC flow logs do not have."""
FIELDS = frozenset(VPC_FIELDS + TGW_FIELDS)
USED = frozenset(
    "srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status "
    "tcp-flags pkt-srcaddr pkt-dstaddr sublocation-type sublocation-id flow-direction".split()
)
"""Fields that become FlowRecord attributes; the rest are kept as text in `fields`."""
VANTAGE = ("interface-id", "tgw-attachment-id", "tgw-id", "instance-id")
"""The fields that name the vantage point, most specific first."""
_GAPS = {"NODATA": Gap.NODATA, "SKIPDATA": Gap.SKIPDATA}
_ACTIONS = {"ACCEPT": Action.ACCEPT, "REJECT": Action.REJECT}
NS = 1_000_000_000


def parse_format(text: str, where: str = "--format") -> list[str]:
    """A format string (`${version} ${srcaddr}` as AWS writes it, or bare names) -> field
    names; ValueError naming the first unknown field."""
    names = [t.strip("${}") for t in text.split()]
    for name in names:
        if name not in FIELDS:
            raise ValueError(f"{where}: unknown field {name!r} (not an AWS v2-v8 flow log field)")
    return names


def is_header(tokens: Sequence[str]) -> bool:
    return bool(tokens) and tokens[0] in FIELDS


def parse_aws_lines(
    lines: Iterable[bytes], path: str = "<data>", fields: Sequence[str] | None = None,
    vantage: str = "",
) -> Iterator[Item]:  # fmt: skip
    """Records and gaps of a text flow log, in file order. `fields` is a declared format (a
    header line in the file overrides it from that line on); `vantage` names the interface
    where the format has no field for it (a CloudWatch log stream)."""
    form = Format.of(fields or V2_FIELDS)
    offset = 0
    for number, raw in enumerate(lines, 1):
        where, offset = Where(line=number, offset=offset), offset + len(raw)
        tokens = raw.decode("utf-8", "replace").split()
        if not tokens:
            continue
        if tokens[0] in FIELDS:
            try:
                form = Format.of(parse_format(" ".join(tokens), f"line {number}"))
            except ValueError as err:
                raise CorruptRecords(path, f"line {number}", str(err).split(": ", 1)[1]) from err
            continue
        yield from form.record(tokens, path, where, vantage)


def parse_record(
    names: Sequence[str], tokens: Sequence[str], path: str, where: Where, vantage: str = ""
) -> list[Item]:
    """One record's values under its format's names: a flow record, a gap, or both."""
    return Format.of(names).record(tokens, path, where, vantage)


@dataclass(frozen=True, slots=True)
class Format:
    """A format's field names, with the position of each field a record is built from
    (-1: not in this format), worked out once per header rather than once per record."""

    names: tuple[str, ...]
    source: str
    at: dict[str, int]
    vantage: tuple[int, ...]
    """Positions of the fields that can name the vantage point, most specific first."""
    kept: tuple[int, ...]

    @classmethod
    def of(cls, names: Sequence[str]) -> Format:
        return _format(tuple(names))

    def record(self, tokens: Sequence[str], path: str, where: Where, vantage: str) -> list[Item]:
        if len(tokens) != len(self.names):
            few = "few" if len(tokens) < len(self.names) else "many"
            raise CorruptRecords(
                path, str(where), f"too {few} values: {len(tokens)} for the format's "
                f"{len(self.names)} fields ({' '.join(self.names[:3])} ...)",
            )  # fmt: skip
        try:
            return self.items(tokens, where, vantage)
        except ValueError as err:
            raise CorruptRecords(path, str(where), str(err)) from err

    def items(self, t: Sequence[str], where: Where, vantage: str) -> list[Item]:
        """A record's values ("-" for none) in this format's order: a flow record, a gap, or
        both."""
        at = self.at
        named, seen = -1, vantage
        for i in self.vantage:
            if t[i] != "-":
                named, seen = i, t[i]
                break
        start, end = self._int(t, "start") * NS, self._int(t, "end") * NS
        status = _GAPS.get(t[at["log-status"]]) if "log-status" in at else None
        gaps: list[Item] = [] if status is None else [
            CoverageGap(source=self.source, vantage=seen, start_ns=start, end_ns=end,
                        gap=status, where=where)]  # fmt: skip
        src, dst = self._text(t, "srcaddr"), self._text(t, "dstaddr")
        if not (src and dst):
            if not gaps:
                raise ValueError("no srcaddr and dstaddr, and log-status is not NODATA or "
                                 "SKIPDATA")  # fmt: skip
            return gaps
        kind = self._text(t, "sublocation-type")
        return [FlowRecord(
            source=self.source, vantage=seen, proto=self._int(t, "protocol"),
            src=src, sport=self._int(t, "srcport"), dst=dst, dport=self._int(t, "dstport"),
            first_ns=start, last_ns=end, packets=self._int(t, "packets"),
            bytes=self._int(t, "bytes"), tcp_flags=self._int(t, "tcp-flags") & 0xFF,
            action=_ACTIONS.get(self._text(t, "action"), Action.UNKNOWN),
            pkt_src=_other(self._text(t, "pkt-srcaddr"), src),
            pkt_dst=_other(self._text(t, "pkt-dstaddr"), dst),
            sublocation=f"{kind}:{self._text(t, 'sublocation-id')}" if kind else "",
            direction=self._text(t, "flow-direction"), where=where,
            fields=tuple((self.names[i], t[i]) for i in self.kept if t[i] != "-" and i != named),
        ), *gaps]  # fmt: skip

    def _text(self, t: Sequence[str], name: str) -> str:
        i = self.at.get(name, -1)
        return "" if i < 0 or t[i] == "-" else t[i]

    def _int(self, t: Sequence[str], name: str) -> int:
        i = self.at.get(name, -1)
        if i < 0 or t[i] == "-":
            return 0
        if not t[i].isdigit():
            raise ValueError(f"{name} is {t[i]!r}, not a whole number")
        return int(t[i])


@lru_cache(maxsize=64)
def _format(names: tuple[str, ...]) -> Format:
    at = {n: i for i, n in enumerate(names)}
    source = "aws-tgw" if any(n.startswith("tgw-") for n in names) else "aws-vpc"
    vantage = tuple(at[n] for n in VANTAGE if n in at)
    kept = tuple(i for i, n in enumerate(names) if n not in USED)
    return Format(names, source, at, vantage, kept)


def _other(value: str, same: str) -> str:
    return "" if value == same else value
