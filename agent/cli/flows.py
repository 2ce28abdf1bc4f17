"""`flows` and `names`: what a capture holds, flow by flow."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING

import click

from agent.capture import open_capture
from agent.chain.pipeline import FlowPipeline, flows_from
from agent.chain.recording import Recording, plan
from agent.cli.base import main, reports_errors, warn
from agent.cli.inputs import aws_format, capture_filter, journal_window, ns, one_source, unfiltered
from agent.cli.listing import stats_line, stats_section, write_csv, write_jsonl, write_table
from agent.model import CaptureStats, FlowBatch, clock, seconds
from agent.records.source import EXPORTS, record_kind

if TYPE_CHECKING:  # what only journals, exports and flow records need is imported for them
    from agent.capture.bpf import Selector
    from agent.journal import Journal
    from agent.records.netflow import ExportStats

FORMATS = ("table", "json", "csv", "zeek", "zeek-json")


@main.command()
@click.argument("captures", nargs=-1, type=click.Path(dir_okay=True))
@click.option("--format", "form", type=click.Choice(FORMATS), help="Output format (default: "
              "table; zeek: a Zeek conn.log, TSV; zeek-json: its JSON lines).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one flow per line.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
@click.option("--stats", is_flag=True, help="Print full statistics (as JSON with --json).")
@click.option("--idle-timeout", default=0.0, show_default=True, metavar="SECS",
              help="End a flow idle this long (capture time); 0: never.")  # fmt: skip
@click.option("--active-timeout", default=0.0, show_default=True, metavar="SECS",
              help="End a flow that lived this long; 0: never.")  # fmt: skip
@click.option("--no-names", is_flag=True, help="Skip reading names (DNS, SNI, QUIC, HTTP Host).")
@click.option("--decode-exports", is_flag=True,
              help="CAPTURES hold NetFlow v5/v9/IPFIX export datagrams: list their flows.")
@click.option("--export-port", "export_ports", type=click.IntRange(0, 65535), multiple=True,
              metavar="PORT", help="With --decode-exports: a collector port besides "
              "2055, 4739, 9995 and 9996 (repeatable).")  # fmt: skip
@capture_filter
@aws_format
@journal_window
@reports_errors
def flows(
    captures: tuple[str, ...], form: str | None, as_json: bool, as_csv: bool, stats: bool,
    idle_timeout: float, active_timeout: float, no_names: bool, decode_exports: bool,
    export_ports: tuple[int, ...], selector: Selector | None, fields: list[str] | None,
    journal_path: str | None, since: datetime | None, until: datetime | None,
) -> None:  # fmt: skip
    """List the flows in pcap/pcapng CAPTURES (gzipped or not), initiator first, with how the
    initiator was decided (by: syn, ports, first-packet); or, with --journal, the flows a
    daemon journaled (serial: the journal row). CAPTURES are one recording, read in time order:
    a connection that goes on into the next file is one flow, listed under the file where it
    began; a file given twice is read once. --since/--until list the flows that overlap
    [since, until). With --decode-exports, the flows that the NetFlow/IPFIX datagrams in
    CAPTURES report (templates carry over from one capture to the next: give the template
    capture first). Flow logs and conn.logs among CAPTURES (found by content) are listed with
    both directions of a connection joined (serial: the flow's number among them). --filter
    selects capture records (with --decode-exports, the export datagrams) before they are
    decoded."""
    one_source(captures, journal_path)
    form = _format(form, as_json, as_csv)
    as_json, several = form == "json", len(set(captures)) > 1
    window = ns(since), ns(until)
    if decode_exports:
        from agent.records.netflow.source import EXPORT_PORTS

        ports = EXPORT_PORTS | frozenset(export_ports)
        _write(_exported(captures, ports, window, as_json, stats, selector), form, several)
        return
    record_files = [p for p in captures if record_kind(p) not in (None, EXPORTS)]
    unfiltered(selector, journal_path, record_files)
    if journal_path:
        from agent.journal import Journal

        with Journal.open(journal_path) as journal:
            _write(((b, journal_path) for b in _journaled(journal, *window)), form)
        return
    if record_files:
        _records(record_files, window, form, fields)
        captures = tuple(p for p in captures if p not in record_files)
        if not captures:
            return
    pipe = FlowPipeline(idle_timeout, active_timeout, names=not no_names, selector=selector)
    recording = Recording(plan(captures, stdin=True, hashed=False), pipe)
    try:
        _write(((b.overlapping(*window), path) for b, path in recording.flows()), form, several)
    finally:
        for read in recording.read:
            part = read.part
            if part.same_as:
                from agent.findings.document import repeat_warning

                warn(repeat_warning(part.path, part.same_as, part.sha256))
            else:
                _report(read.part.path, read.stats, as_json, stats)
    damaged = next((r.error for r in recording.read if r.error), None)
    if damaged:
        raise damaged


@main.command()
@click.argument("captures", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one binding per line.")
@capture_filter
@reports_errors
def names(captures: tuple[str, ...], as_json: bool, selector: Selector | None) -> None:
    """List the name-to-address bindings seen in CAPTURES: DNS answers, and the TLS/QUIC server
    names and HTTP Hosts of flows (bound to the flow's responder), first sighting first; with
    --filter, in the records it selects."""
    for path in captures:
        pipe = FlowPipeline(selector=selector)
        seen: dict[tuple[str, str, str], int] = {}
        try:
            with open_capture(path) as source:
                for batch in flows_from(source, pipe):
                    for f in batch.records():
                        for how, name in f.names:
                            if how != "dns":
                                key = (how, name, f.dst)
                                seen[key] = min(seen.get(key, f.first_ns), f.first_ns)
        finally:
            bindings = pipe.names.bindings if pipe.names else {}
            for address, bound in bindings.items():
                for ts, names_ in bound:
                    for name in names_:
                        key = ("dns", name, address)
                        seen[key] = min(seen.get(key, ts), ts)
            for (how, name, address), ts in sorted(seen.items(), key=lambda kv: (kv[1], kv[0])):
                if as_json:
                    click.echo(json.dumps({"capture": path, "first": seconds(ts), "source": how,
                                           "name": name, "address": address}))  # fmt: skip
                else:
                    click.echo(f"{clock(ts)}  {how:<8} {name:<48} {address}")
            _report(path, pipe.stats, as_json, full=False)


def _format(form: str | None, as_json: bool, as_csv: bool) -> str:
    """One output format: `--format`, or the `--json`/`--csv` shorthands, never two."""
    given = {f for f, on in ((form or "", form is not None), ("json", as_json), ("csv", as_csv))
             if on}  # fmt: skip
    if len(given) > 1:
        raise click.UsageError(f"choose one output format, not {' and '.join(sorted(given))}")
    return given.pop() if given else "table"


def _write(found: Iterable[tuple[FlowBatch, str]], form: str, several: bool = False) -> None:
    """Flows, each batch with its capture (or journal), written as they come; the table names
    the capture of each flow when there are several."""
    if form == "json":
        write_jsonl(found, sys.stdout)
    elif form == "csv":
        write_csv(found, sys.stdout)
    elif form in ("zeek", "zeek-json"):
        from agent.cli.listing import write_zeek

        write_zeek(found, sys.stdout, as_json=form == "zeek-json")
    else:
        write_table(found, sys.stdout, captures=several)


def _records(
    paths: list[str], window: tuple[int | None, int | None], form: str, fields: list[str] | None
) -> None:
    from agent.records.source import read_records

    read = read_records(paths, fields)
    j = read.joined
    per_file = [j.batch.take(j.tags == n).overlapping(*window) for n in range(len(paths))]
    found = ((b, f.path) for b, f in zip(per_file, read.files, strict=True))
    _write(found, form, len(paths) > 1)
    for f, b in zip(read.files, per_file, strict=True):
        click.echo(f"{f.path}: {f.kind}, {f.records:,} records, {len(f.gaps):,} coverage "
                   f"gaps, {len(b):,} flows", err=True)  # fmt: skip
    click.echo(f"records joined: {j.merged_directions:,} as the other direction or a later "
               f"window, {j.merged_duplicates:,} seen at a second vantage point and counted "
               f"once; {j.rejected:,} flows rejected", err=True)  # fmt: skip
    damaged = next((f.error for f in read.files if f.error), None)
    if damaged:
        raise damaged


def _journaled(journal: Journal, since: int | None, until: int | None) -> Iterator[FlowBatch]:
    """Journaled flows in batches, each serial its journal row."""
    from agent.chain.sources import journaled

    for given in journaled(journal, str(journal.path), (since, until)):
        flows = given.flows
        yield flows if isinstance(flows, FlowBatch) else FlowBatch.of(list(flows))


def _exported(captures: tuple[str, ...], ports: frozenset[int],
              window: tuple[int | None, int | None], as_json: bool, full: bool,
              selector: Selector | None) -> Iterator[tuple[FlowBatch, str]]:  # fmt: skip
    """The export datagrams' flows, one collector for all CAPTURES (templates carry over)."""
    from agent.records.netflow import Collector, ExportStats
    from agent.records.netflow.offline import exported_flows

    collector = Collector()
    for path in captures:
        collector.stats = ExportStats()
        try:
            for batch in exported_flows(path, collector, ports, selector):
                yield batch.overlapping(*window), path
        finally:
            _report_exports(path, collector.stats, as_json, full)


def _report_exports(path: str, s: ExportStats, as_json: bool, full: bool) -> None:
    if isinstance(sys.exception(), KeyboardInterrupt | BrokenPipeError):
        return
    for error in s.errors:
        click.echo(f"warning: {path}: malformed export datagram at {error}", err=True)
    if as_json and full:
        click.echo(json.dumps({"capture": path, "exports": s.as_dict()}), err=True)
    else:
        click.echo(s.line(path), err=True)


def _report(path: str, s: CaptureStats, as_json: bool, full: bool) -> None:
    """Statistics and warnings go to stderr, so stdout stays pure data; none when Ctrl-C or a
    closed pipe cut the run short, as its numbers would only mislead."""
    if isinstance(sys.exception(), KeyboardInterrupt | BrokenPipeError):
        return
    for warning in s.warnings:
        warn(str(warning))
    if full and as_json:
        click.echo(json.dumps({"capture": path, "stats": s.as_dict()}), err=True)
    elif full:
        click.echo(stats_section(path, s), err=True)
    else:
        click.echo(stats_line(path, s), err=True)


