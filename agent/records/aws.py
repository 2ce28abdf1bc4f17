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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from agent.errors import CorruptRecords
from agent.records.batch import ACTION_CODE, RECORD, RecordBatch
from agent.records.model import Action, CoverageGap, Gap, Where

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
INTS = ("start", "end", "protocol", "srcport", "dstport", "packets", "bytes", "tcp-flags")
"""The whole-number fields a record is built from, in the order they are checked."""
DIGITS = r"^[0-9]{1,18}$"
"""What a whole-number value may be (at most 18 digits: it fits an int64 in ns as seconds)."""
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


Columns = Mapping[str, pa.Array]
"""A format's values by field name: strings (null for `-`) or, from Parquet, integers."""
Place = Callable[[int], str]
"""Where the n-th record of a set of columns is, for an error message."""


@dataclass(frozen=True, slots=True)
class Format:
    """A format's field names, with what is worked out once per header rather than once per
    record: the source it names, the fields that can name the vantage point (most specific
    first) and the fields kept as text."""

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

    def read(self, cols: Columns, where: Wheres, path: str, place: Place, vantage: str = ""
             ) -> tuple[RecordBatch, list[CoverageGap], CorruptRecords | None]:  # fmt: skip
        """The records and gaps of `cols` (n values each, `where` their places), and the
        damage that ends them: CorruptRecords at the first damaged record, the records and
        gaps before it given."""
        n = len(where[0])
        ints, bad = _whole_numbers(cols, n)
        status = _text(cols, "log-status", n)
        gap = pc.is_in(status, pa.array(list(_GAPS))).fill_null(False).to_numpy(False)
        src, dst = _text(cols, "srcaddr", n), _text(cols, "dstaddr", n)
        has = pc.and_(pc.is_valid(src), pc.is_valid(dst)).to_numpy(False)
        src, dst = src.fill_null(""), dst.fill_null("")
        bad[""] = ~(has | gap)
        first, reason = _first_bad(bad, has, cols)
        if first < n:
            batch, gaps, _ = self.read({k: v[:first] for k, v in cols.items()},
                                       (where[0][:first], where[1][:first], where[2][:first]),
                                       path, place, vantage)  # fmt: skip
            return batch, gaps, CorruptRecords(path, place(first), reason)
        seen = pc.coalesce(*[_text(cols, f, n) for f in self.vantage],
                           pa.repeat(pa.scalar(vantage), n))  # fmt: skip
        places = pa.concat_arrays([src, dst, seen.cast(pa.string())]).dictionary_encode()
        texts = places.dictionary.to_numpy(False)
        codes = places.indices.to_numpy(False)
        rows = np.zeros(n, RECORD)
        rows["src"], rows["dst"], rows["vantage"] = codes[:n], codes[n : 2 * n], codes[2 * n :]
        for name, key in (("protocol", "proto"), ("srcport", "sport"), ("dstport", "dport"),
                          ("packets", "packets"), ("bytes", "bytes")):  # fmt: skip
            rows[key] = ints[name]
        rows["first_ns"], rows["last_ns"] = ints["start"] * NS, ints["end"] * NS
        rows["tcp_flags"] = ints["tcp-flags"] & 0xFF
        rows["action"] = _actions(_text(cols, "action", n))
        rows["sampling"] = 1
        rows["line"], rows["offset"], rows["item"] = where
        gaps = [CoverageGap(source=self.source, vantage=texts[v], start_ns=start, end_ns=end,
                            gap=_GAPS[status[i].as_py()], where=Where(line, offset, item))
                for i, (v, start, end, line, offset, item) in zip(np.flatnonzero(gap).tolist(),
                rows[["vantage", "first_ns", "last_ns", "line", "offset", "item"]][gap].tolist(),
                strict=True)]  # fmt: skip
        if not has.all():
            keep = np.flatnonzero(has)
            rows, cols = rows[keep], {k: v.take(pa.array(keep)) for k, v in cols.items()}
        batch = RecordBatch(self.source, rows, texts, lambda: self.detail(cols, len(rows)))
        return batch, gaps, None

    def detail(self, cols: Columns, n: int) -> list[dict[str, Any]]:
        """Per record, what stays text: the packet's own addresses where they differ, the
        Local Zone, the direction, and every field kept as it was written."""
        values = {k: v.to_pylist() for k, v in cols.items()}
        blank = [None] * n
        get = values.get
        src, dst = get("srcaddr", blank), get("dstaddr", blank)
        out = []
        for i in range(n):
            named = next((f for f in self.vantage if get(f, blank)[i] is not None), "")
            kind = get("sublocation-type", blank)[i]
            out.append({
                "pkt_src": _other(get("pkt-srcaddr", blank)[i], src[i]),
                "pkt_dst": _other(get("pkt-dstaddr", blank)[i], dst[i]),
                "sublocation": f"{kind}:{get('sublocation-id', blank)[i] or ''}" if kind else "",
                "direction": get("flow-direction", blank)[i] or "",
                "fields": tuple((f, str(values[f][i])) for f in self.kept
                                if values[f][i] is not None and f != named),
            })  # fmt: skip
        return out


Wheres = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]
"""Per record: line, offset, item (as `Where`)."""


def _text(cols: Columns, name: str, n: int) -> pa.Array:
    value = cols.get(name)
    if value is None:
        return pa.nulls(n, pa.string())
    return value if pa.types.is_string(value.type) else pc.cast(value, pa.string())


def _whole_numbers(cols: Columns, n: int) -> tuple[
        dict[str, npt.NDArray[np.int64]], dict[str, npt.NDArray[np.bool_]]]:  # fmt: skip
    """Each of `INTS` as int64 (0 where absent or `-`), and per field the records whose value
    is not a whole number."""
    ints, bad = {}, {}
    for name in INTS:
        value = cols.get(name)
        if value is None:
            ints[name] = np.zeros(n, np.int64)
            continue
        try:
            number = pc.cast(value, pa.int64()).fill_null(0).to_numpy(False)
        except pa.ArrowInvalid:  # text that is not a whole number: find it (rare, so slow)
            ok = pc.match_substring_regex(value, DIGITS).fill_null(True)
            bad[name] = ~ok.to_numpy(False)
            value = pc.if_else(ok, value, pa.scalar(None, pa.string()))
            number = pc.cast(value, pa.int64()).fill_null(0).to_numpy(False)
        if number.min(initial=0) < 0:
            bad[name] = number < 0
        ints[name] = number
    return ints, bad


def _first_bad(bad: dict[str, npt.NDArray[np.bool_]], has: npt.NDArray[np.bool_],
               cols: Columns) -> tuple[int, str]:  # fmt: skip
    """The first damaged record and why, its checks in the order a record is read by: the
    times of every record, then whether it has addresses, then the rest of a flow's."""
    first, reason = len(has), ""
    for name in ("start", "end", "", *INTS[2:]):
        if name not in bad:
            continue
        mask = bad[name] if name in ("start", "end", "") else bad[name] & has
        hit = np.flatnonzero(mask[:first])
        if len(hit):
            first = int(hit[0])
            reason = (f"{name} is {str(cols[name][first].as_py())!r}, not a whole number" if name
                      else "no srcaddr and dstaddr, and log-status is not NODATA or SKIPDATA")
    return first, reason


def _actions(action: pa.Array) -> npt.NDArray[np.int8]:
    out = np.zeros(len(action), np.int8)
    for text, a in (("ACCEPT", Action.ACCEPT), ("REJECT", Action.REJECT)):
        out[pc.equal(action, text).fill_null(False).to_numpy(False)] = ACTION_CODE[a]
    return out


@lru_cache(maxsize=64)
def _format(names: tuple[str, ...]) -> Format:
    source = "aws-tgw" if any(n.startswith("tgw-") for n in names) else "aws-vpc"
    vantage = tuple(n for n in VANTAGE if n in names)
    kept = tuple(n for n in names if n not in USED)
    return Format(names, source, vantage, kept)


def _other(value: str | None, same: str | None) -> str:
    return "" if value is None or value == same else value
