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

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

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


@dataclass(frozen=True, slots=True)
class Format:
    """A format's field names, with what is worked out once per header rather than once per
    record: the source it names, the fields that can name the vantage point (most specific
    first) and the fields kept as text. Its records are read by `agent.records.aws_columns`."""

    names: tuple[str, ...]
    source: str
    vantage: tuple[str, ...]
    kept: tuple[str, ...]

    @classmethod
    def of(cls, names: Sequence[str]) -> Format:
        return _format(tuple(names))

    def too(self, count: int) -> str:
        """The complaint about a record of `count` values."""
        few = "few" if count < len(self.names) else "many"
        return (f"too {few} values: {count} for the format's {len(self.names)} fields "
                f"({' '.join(self.names[:3])} ...)")  # fmt: skip


@lru_cache(maxsize=64)
def _format(names: tuple[str, ...]) -> Format:
    source = "aws-tgw" if any(n.startswith("tgw-") for n in names) else "aws-vpc"
    vantage = tuple(n for n in VANTAGE if n in names)
    kept = tuple(n for n in names if n not in USED)
    return Format(names, source, vantage, kept)
