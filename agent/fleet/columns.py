"""The lake's one row layout: a journaled flow as flat columns named after OCSF Network Activity
(class 4001) attribute paths (`dst_endpoint.ip` -> `dst_endpoint_ip`), plus residency's own
where OCSF has no attribute (`names`, `direction`, `journal_seq`, `community_id`, ...).

Every `Flow` field has exactly one column, so a sealed row reads back as the flow the journal
held and is judged as `analyze --journal` judges it. `FLOW_COLUMNS` is the one table: a field
not named in it keeps its own name (so a new `Flow` field is sealed without a change here).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, get_type_hints

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from agent.flows.community import community_id
from agent.journal import JournalFlow
from agent.model import Flow, FlowBatch, Process

FLOW_COLUMNS = {
    "first_ns": "time", "last_ns": "end_time",
    "proto": "connection_info_protocol_num",
    "src": "src_endpoint_ip", "sport": "src_endpoint_port",
    "dst": "dst_endpoint_ip", "dport": "dst_endpoint_port",
    "packets_fwd": "traffic_packets_out", "packets_rev": "traffic_packets_in",
    "bytes_fwd": "traffic_bytes_out", "bytes_rev": "traffic_bytes_in",
    "frame_bytes_fwd": "frame_bytes_out", "frame_bytes_rev": "frame_bytes_in",
    "tcp_flags_fwd": "tcp_flags_out", "tcp_flags_rev": "tcp_flags_in",
    "depth": "tunnel_depth", "end": "end_reason", "serial": "journal_seq",
}  # fmt: skip
"""Flow field -> column. `time`/`end_time` are the first and last packet (ns, UTC); `_out` is
the initiator's (the local side's) direction, `_in` the responder's."""

TIME = pa.timestamp("ns", tz="UTC")
NAMES = pa.list_(pa.struct([("source", pa.string()), ("name", pa.string())]))
PROCESS_COLUMNS = (
    ("actor_process_pid", pa.int64()), ("actor_process_name", pa.string()),
    ("actor_process_file_path", pa.string()), ("actor_user_name", pa.string()),
    ("actor_process_cmd_line", pa.list_(pa.string())), ("actor_process_created_time", TIME),
)  # fmt: skip
"""The owning process (live mode); null when no process was known."""
EXTRA = (("device_hostname", pa.string()), ("dst_endpoint_hostname", pa.string()),
         ("community_id", pa.string()))  # fmt: skip


def _flow_type(name: str, hint: Any) -> pa.DataType:
    if name in ("first_ns", "last_ns"):
        return TIME
    if name == "names":
        return NAMES
    return pa.string() if hint is str else pa.int64()


_HINTS = get_type_hints(Flow)
FLOW_FIELDS = tuple((f, FLOW_COLUMNS.get(f, f), _flow_type(f, _HINTS[f])) for f in Flow._fields)
SCHEMA = pa.schema(
    [("device_hostname", pa.string())]
    + [(column, kind) for _, column, kind in FLOW_FIELDS]
    + list(PROCESS_COLUMNS) + list(EXTRA[1:])
)  # fmt: skip
"""The sealed file's schema, in column order."""
RECORD_COLUMNS = ("record_source", "record_vantage", "record_counts", "record_file",
                  "record_where")  # fmt: skip
"""A flow record file's own, after `SCHEMA` (`lake seal RECORDS...`; a journal's files have
none): the format and vantage point that speak for the flow, whether its counts are `exact` or
`estimated` (sampled), and the file and place (`line 2`) of the record that began it."""
RECORD_SCHEMA = pa.schema([*SCHEMA, *(pa.field(c, pa.string()) for c in RECORD_COLUMNS)])


def to_table(host: str, rows: Sequence[JournalFlow],
             records: dict[str, list[str]] | None = None) -> pa.Table:  # fmt: skip
    """Journaled flows as one table in `SCHEMA`; with their `records` columns (the
    `RECORD_COLUMNS`), flows joined from record files, in `RECORD_SCHEMA`."""
    flows = [r.flow for r in rows]
    procs = [r.process for r in rows]
    data: dict[str, list[Any]] = {"device_hostname": [host] * len(rows)}
    for i, (field, column, _) in enumerate(FLOW_FIELDS):
        if field == "names":
            data[column] = [[{"source": s, "name": n} for s, n in f.names] for f in flows]
        elif field == "serial":
            data[column] = [r.seq for r in rows]
        else:
            data[column] = [f[i] for f in flows]
    data |= _processes(procs)
    data["dst_endpoint_hostname"] = [f.names[0][1] if f.names else None for f in flows]
    data["community_id"] = [community_id(f.proto, f.src, f.sport, f.dst, f.dport) for f in flows]
    if records is None:
        return pa.Table.from_pydict(data, schema=SCHEMA)
    return pa.Table.from_pydict(data | records, schema=RECORD_SCHEMA)


def _processes(procs: list[Process | None]) -> dict[str, list[Any]]:
    def of(get: Any) -> list[Any]:
        return [None if p is None else get(p) for p in procs]

    return {
        "actor_process_pid": of(lambda p: p.pid), "actor_process_name": of(lambda p: p.name),
        "actor_process_file_path": of(lambda p: p.exe), "actor_user_name": of(lambda p: p.user),
        "actor_process_cmd_line": of(lambda p: list(p.cmdline)),
        "actor_process_created_time": of(lambda p: p.started_ns),
    }  # fmt: skip


def flows_of(batch: pa.RecordBatch | pa.Table) -> tuple[list[Flow], list[Process | None]]:
    """A batch of sealed rows back as the flows and owners the journal held."""
    cols = {name: batch.column(name) for name in batch.schema.names}
    values = [_values(cols[column], field) for field, column, _ in FLOW_FIELDS]
    flows = [Flow._make(v) for v in zip(*values, strict=True)]
    return flows, list(_owners(cols, len(flows)))


def batch_of(batch: pa.RecordBatch | pa.Table) -> tuple[FlowBatch, list[Process | None] | None]:
    """A batch of sealed rows as flow columns, with no object made per row, and their owners
    (None when no row has one)."""
    cols = {name: batch.column(name) for name in batch.schema.names}
    flows = FlowBatch(tuple(_array(cols[column], field) for field, column, _ in FLOW_FIELDS))
    if cols["actor_process_pid"].null_count == len(batch):
        return flows, None
    return flows, list(_owners(cols, len(batch)))


def _array(column: Any, field: str) -> Any:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if field == "names":
        out = np.empty(len(column), object)
        out.fill(())
        named = np.flatnonzero(pc.list_value_length(column).fill_null(0).to_numpy() > 0)
        for i, v in zip(named.tolist(), column.take(named).to_pylist(), strict=True):
            out[i] = tuple((d["source"], d["name"]) for d in v)
        return out
    if pa.types.is_string(column.type):  # each distinct text made once
        coded = pc.dictionary_encode(column)
        texts = coded.dictionary.to_numpy(zero_copy_only=False).astype(object)
        return texts[coded.indices.to_numpy()]
    return column.cast(pa.int64()).to_numpy().astype(np.int64)


def _values(column: Any, field: str) -> list[Any]:
    if field in ("first_ns", "last_ns"):
        return column.cast(pa.int64()).to_pylist()  # type: ignore[no-any-return]
    if field == "names":
        return [tuple((d["source"], d["name"]) for d in v) for v in column.to_pylist()]
    return column.to_pylist()  # type: ignore[no-any-return]


def _owners(cols: dict[str, Any], n: int) -> Iterator[Process | None]:
    pid, name, exe, user, cmd, started = (
        cols[c].to_pylist() if c != "actor_process_created_time" else
        cols[c].cast(pa.int64()).to_pylist() for c, _ in PROCESS_COLUMNS
    )  # fmt: skip
    for i in range(n):
        if pid[i] is None:
            yield None
        else:
            yield Process(pid[i], name[i], exe[i], user[i], tuple(cmd[i]), started[i])
