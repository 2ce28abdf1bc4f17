"""The records of an AWS flow log as columns: the rules of `agent.records.aws` applied a column
at a time to the values of a text log (strings, null for `-`), a Parquet file (typed) or a
CloudWatch payload, with Arrow's compute kernels, into a `FlowRecordBatch` and coverage gaps.

Checks are the per-record reader's, in its order (a record's times, then whether it has
addresses or is a gap, then a flow's numbers), and the first damaged record is named with the
same message; what came before it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from agent.errors import CorruptRecords
from agent.records.aws import Format
from agent.records.batch import ACTION_CODE, RECORD, FlowRecordBatch
from agent.records.model import Action, CoverageGap, Gap, Where

_GAPS = {"NODATA": Gap.NODATA, "SKIPDATA": Gap.SKIPDATA}
INTS = ("start", "end", "protocol", "srcport", "dstport", "packets", "bytes", "tcp-flags")
"""The whole-number fields a record is built from, in the order they are checked."""
DIGITS = r"^[0-9]{1,18}$"
"""What a whole-number value may be (at most 18 digits: it fits an int64 in ns as seconds)."""
NS = 1_000_000_000
Columns = Mapping[str, pa.Array]
"""A format's values by field name: strings (null for `-`) or, from Parquet, integers."""
Place = Callable[[int], str]
"""Where the n-th record of a set of columns is, for an error message."""
Wheres = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]
"""Per record: line, offset, item (as `Where`)."""


def read_columns(
    form: Format, cols: Columns, where: Wheres, path: str, place: Place, vantage: str = ""
) -> tuple[FlowRecordBatch, list[CoverageGap], CorruptRecords | None]:
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
        batch, gaps, _ = read_columns(form, {k: v[:first] for k, v in cols.items()},
                                   (where[0][:first], where[1][:first], where[2][:first]),
                                   path, place, vantage)  # fmt: skip
        return batch, gaps, CorruptRecords(path, place(first), reason)
    seen = pc.coalesce(*[_text(cols, f, n) for f in form.vantage],
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
    gaps = [CoverageGap(source=form.source, vantage=texts[v], start_ns=start, end_ns=end,
                        gap=_GAPS[status[i].as_py()], where=Where(line, offset, item))
            for i, (v, start, end, line, offset, item) in zip(np.flatnonzero(gap).tolist(),
            rows[["vantage", "first_ns", "last_ns", "line", "offset", "item"]][gap].tolist(),
            strict=True)]  # fmt: skip
    if not has.all():
        keep = np.flatnonzero(has)
        rows, cols = rows[keep], {k: v.take(pa.array(keep)) for k, v in cols.items()}
    batch = FlowRecordBatch(form.source, rows, texts, lambda: _detail(form, cols, len(rows)))
    return batch, gaps, None

def _detail(form: Format, cols: Columns, n: int) -> list[dict[str, Any]]:
    """Per record, what stays text: the packet's own addresses where they differ, the
    Local Zone, the direction, and every field kept as it was written."""
    values = {k: v.to_pylist() for k, v in cols.items()}
    blank = [None] * n
    get = values.get
    src, dst = get("srcaddr", blank), get("dstaddr", blank)
    out = []
    for i in range(n):
        named = next((f for f in form.vantage if get(f, blank)[i] is not None), "")
        kind = get("sublocation-type", blank)[i]
        out.append({
            "pkt_src": _other(get("pkt-srcaddr", blank)[i], src[i]),
            "pkt_dst": _other(get("pkt-dstaddr", blank)[i], dst[i]),
            "sublocation": f"{kind}:{get('sublocation-id', blank)[i] or ''}" if kind else "",
            "direction": get("flow-direction", blank)[i] or "",
            "fields": tuple((f, str(values[f][i])) for f in form.kept
                            if values[f][i] is not None and f != named),
        })  # fmt: skip
    return out


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




def _other(value: str | None, same: str | None) -> str:
    return "" if value is None or value == same else value
