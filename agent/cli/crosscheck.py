"""`crosscheck A B`: two sources of the same traffic (captures, flow record files, a daemon's
journal), compared flow by flow. Exit 0 when they agree, 1 when they do not (as `diff`)."""

from __future__ import annotations

import json
import sys

import click

from agent.capture import open_capture
from agent.chain.pipeline import FlowPipeline, flows_from
from agent.cli.base import main, reports_errors, warn
from agent.cli.inputs import aws_format
from agent.files import open_input
from agent.journal import Journal
from agent.model import Flow, seconds
from agent.records.crosscheck import Crosscheck, Seen, crosscheck, summarize
from agent.records.join import join_batches
from agent.records.source import read_record_file, record_kind
from agent.wire.keywords import proto_name

SQLITE = b"SQLite format 3\x00"


@main.command(name="crosscheck")
@click.argument("a", type=click.Path(dir_okay=False))
@click.argument("b", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
@aws_format
@reports_errors
def crosscheck_command(a: str, b: str, as_json: bool, fields: list[str] | None) -> None:
    """Compare A and B (each a capture, a flow log or conn.log, or a journal, found by
    content): flows one saw and the other did not, and bytes that differ beyond the two
    sources' precision (exact sources to the byte, sampled ones by 25%)."""
    result = crosscheck(summarize(load(a, fields)), summarize(load(b, fields)))
    if as_json:
        click.echo(json.dumps(as_dict(result, a, b), indent=2))
    else:
        _text(result, a, b)
    sys.exit(0 if result.agree else 1)


def load(path: str, fields: list[str] | None = None) -> list[tuple[Flow, bool]]:
    """Every flow of a source, with whether its counts are exact."""
    with open_input(path) as f:
        head = f.read(16)
    if head == SQLITE:
        with Journal.open(path) as journal:
            return [(r.flow, True) for r in journal.flows(None, None)]
    if record_kind(path):
        got = read_record_file(path, fields)
        if got.error:
            warn(str(got.error))
        joined = join_batches(got.batches, [0] * len(got.batches), got.gaps)
        return list(zip(joined.batch.records(), (~joined.estimated).tolist(), strict=True))
    pipe = FlowPipeline(names=False)
    with open_capture(path) as source:
        return [(f, True) for batch in flows_from(source, pipe) for f in batch.records()]


def _line(s: Seen) -> str:
    f = s.flow
    return (f"{proto_name(f.proto)} {f.src}:{f.sport} <-> {f.dst}:{f.dport} at "
            f"{seconds(s.first_ns)}: {s.up[1] + s.down[1]} bytes")  # fmt: skip


def _text(r: Crosscheck, a: str, b: str) -> None:
    for s in r.only_a:
        click.echo(f"only in {a}: {_line(s)}")
    for s in r.only_b:
        click.echo(f"only in {b}: {_line(s)}")
    for d in r.differ:
        click.echo(f"bytes differ: {_line(d.a)}: {a} {d.a.up[1]}/{d.a.down[1]}, "
                   f"{b} {d.b.up[1]}/{d.b.down[1]} (each way)")  # fmt: skip
    click.echo(f"{r.a} flows in {a}, {r.b} in {b}: {r.matched} seen by both, "
               f"{len(r.only_a)} only in {a}, {len(r.only_b)} only in {b}, "
               f"{len(r.differ)} with bytes that differ", err=True)  # fmt: skip


def as_dict(r: Crosscheck, a: str, b: str) -> dict[str, object]:
    def one(s: Seen) -> dict[str, object]:
        f = s.flow
        return {"proto": f.proto, "src": f.src, "sport": f.sport, "dst": f.dst, "dport": f.dport,
                "first": seconds(s.first_ns), "last": seconds(s.last_ns), "exact": s.exact,
                "packets": [s.up[0], s.down[0]], "bytes": [s.up[1], s.down[1]]}  # fmt: skip

    return {
        "a": a, "b": b, "flows": [r.a, r.b], "matched": r.matched, "agree": r.agree,
        "only_a": [one(s) for s in r.only_a], "only_b": [one(s) for s in r.only_b],
        "differ": [{"community_id": d.cid, "a": one(d.a), "b": one(d.b)} for d in r.differ],
    }  # fmt: skip
