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
    names = list(fields or V2_FIELDS)
    offset = 0
    for number, raw in enumerate(lines, 1):
        where, offset = Where(line=number, offset=offset), offset + len(raw)
        tokens = raw.decode("utf-8", "replace").split()
        if not tokens:
            continue
        if is_header(tokens):
            try:
                names = parse_format(" ".join(tokens), f"line {number}")
            except ValueError as err:
                raise CorruptRecords(path, f"line {number}", str(err).split(": ", 1)[1]) from err
            continue
        yield from parse_record(names, tokens, path, where, vantage)


def parse_record(
    names: Sequence[str], tokens: Sequence[str], path: str, where: Where, vantage: str = ""
) -> list[Item]:
    """One record's values under its format's names: a flow record, a gap, or both."""
    if len(tokens) != len(names):
        few = "few" if len(tokens) < len(names) else "many"
        raise CorruptRecords(
            path, str(where), f"too {few} values: {len(tokens)} for the format's {len(names)} "
            f"fields ({' '.join(names[:3])} ...)",
        )  # fmt: skip
    row = {n: t for n, t in zip(names, tokens, strict=True) if t != "-"}
    try:
        return items(row, where, vantage)
    except ValueError as err:
        raise CorruptRecords(path, str(where), str(err)) from err


def items(row: dict[str, str], where: Where, vantage: str) -> list[Item]:
    """A record given as {field name: text}, "-" already left out: a flow record, a gap, or both."""
    source = "aws-tgw" if any(n.startswith("tgw-") for n in row) else "aws-vpc"
    named = next((n for n in VANTAGE if n in row), "")
    seen = row[named] if named else vantage
    start, end = _int(row, "start") * NS, _int(row, "end") * NS
    status = _GAPS.get(row.get("log-status", ""))
    gaps: list[Item] = [] if status is None else [
        CoverageGap(source=source, vantage=seen, start_ns=start, end_ns=end, gap=status,
                    where=where)]  # fmt: skip
    if "srcaddr" not in row or "dstaddr" not in row:
        if not gaps:
            raise ValueError("no srcaddr and dstaddr, and log-status is not NODATA or SKIPDATA")
        return gaps
    sub = f"{row['sublocation-type']}:{row.get('sublocation-id', '')}" if (
        "sublocation-type" in row) else ""  # fmt: skip
    src, dst = row["srcaddr"], row["dstaddr"]
    return [FlowRecord(
        source=source, vantage=seen, proto=_int(row, "protocol"),
        src=src, sport=_int(row, "srcport"), dst=dst, dport=_int(row, "dstport"),
        first_ns=start, last_ns=end, packets=_int(row, "packets"), bytes=_int(row, "bytes"),
        tcp_flags=_int(row, "tcp-flags") & 0xFF, action=_ACTIONS.get(row.get("action", ""),
        Action.UNKNOWN), pkt_src=_differs(row, "pkt-srcaddr", src),
        pkt_dst=_differs(row, "pkt-dstaddr", dst), sublocation=sub,
        direction=row.get("flow-direction", ""), where=where,
        fields=tuple((n, v) for n, v in row.items() if n not in USED and n != named),
    ), *gaps]  # fmt: skip


def _int(row: dict[str, str], name: str) -> int:
    text = row.get(name)
    if text is None:
        return 0
    if not text.isdigit():
        raise ValueError(f"{name} is {text!r}, not a whole number")
    return int(text)


def _differs(row: dict[str, str], name: str, same: str) -> str:
    value = row.get(name, "")
    return "" if value == same else value
