"""`lake seal`, `fleet report` and `fleet verify`: every host's evidence in one lake, one signed
fleet report. The fleet modules (pyarrow, the engines) are imported inside the commands, so the
rest of the command line never loads them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import click

from agent.cli.base import main, reports_errors, warn
from agent.cli.inputs import aws_format, one_source
from agent.errors import ReportError, SetupError
from agent.files import open_input
from agent.intel.store import Store, Stored
from agent.policy.load import load_policy
from agent.report import envelope
from agent.report.chromium import find_chromium
from agent.report.pdf import print_pdf
from agent.report.sign import load_private, load_public

DAY = click.DateTime(["%Y-%m-%d"])


@main.group()
def lake() -> None:
    """The evidence lake: hosts' closed days as signed Parquet."""


@lake.command("seal")
@click.argument("records", nargs=-1, metavar="[RECORDS]...")
@click.option("--journal", "journal_path", metavar="PATH")
@click.option("--lake", "lake_uri", required=True, metavar="DIR|s3://BUCKET/PREFIX")
@click.option("--key", "key_path", required=True, metavar="FILE",
              help="The host's private key (residency keys generate HOST).")  # fmt: skip
@click.option("--host", help="The host's name (default: the journal's own; RECORDS: needed).")
@click.option("--day", type=DAY, help="One closed UTC day (default: every closed day).")
@click.option("--settle", type=click.FloatRange(min=0), default=0.0, metavar="SECS",
              help="A day is closed once the heartbeats reach this long past its end.")
@click.option("--new-only", is_flag=True,
              help="Seal only days not sealed yet; leave sealed days unread.")  # fmt: skip
@aws_format
@reports_errors
def seal_command(records: tuple[str, ...], journal_path: str | None, lake_uri: str,
                 key_path: str, host: str | None, day: datetime | None, settle: float,
                 new_only: bool, fields: list[str] | None) -> None:  # fmt: skip
    """Seal closed UTC days of a host's journal, or the days of flow record files (RECORDS:
    cloud flow logs, Zeek conn.log, captures of NetFlow/IPFIX exports, read together as
    `analyze` reads them; --host names whom they speak for), into the lake: Parquet (zstd)
    under flows/date=D/host=H/ and a manifest signed with the host's key. Sealing a sealed day
    again changes nothing; a day that would come out different is refused (exit 14)."""
    from agent.fleet.lake import Lake
    from agent.fleet.records import seal_records
    from agent.fleet.seal import seal

    one_source(records, journal_path, "RECORDS")
    if records and host is None:
        raise click.UsageError("RECORDS need --host NAME: the host the lake files them under")
    if records and settle:
        raise click.UsageError("--settle is for a journal's days; RECORDS are sealed whole")
    key = load_private(_read(key_path), key_path)
    when = day.date() if day else None
    if records:
        done = seal_records(records, Lake.open(lake_uri), key, host or "", when, fields,
                            new_only)  # fmt: skip
    else:
        done = seal(journal_path or "", Lake.open(lake_uri), key, host, when, int(settle * 1e9),
                    new_only)  # fmt: skip
    for s in done:
        what = "sealed" if s.written else "already sealed, unchanged"
        click.echo(f"{s.unit.host} {s.unit.date}: {s.rows} flows {what}")
    if not done:
        click.echo(f"{journal_path or records[0]}: no closed day {'left ' if new_only else ''}"
                   "to seal")  # fmt: skip


@main.group()
def fleet() -> None:
    """Fleet reports: one policy over every host's sealed evidence."""


def _request_options(fn: Any) -> Any:
    for option in (
        click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb",
                     show_default=True),
        click.option("--master", default="local[2]", show_default=True,
                     help="Spark: local[N], a cluster master, or sc://host:15002."),
        click.option("--host-keys", "keys_path", required=True, metavar="FILE",
                     help="The fleet's key list: one `ssh-ed25519 KEY HOST` line per host."),
        click.option("--policy", "policy_path", required=True, metavar="FILE"),
    ):  # fmt: skip
        fn = option(fn)
    return fn


@fleet.command("report")
@click.argument("lake_uri", metavar="LAKE")
@_request_options
@click.option("--hosts", "hosts_path", metavar="FILE", help="The hosts that should report.")
@click.option("--since", type=DAY, help="First UTC day (inclusive).")
@click.option("--until", type=DAY, help="Last UTC day (inclusive).")
@click.option("--out", required=True, metavar="FILE.json|.html|.pdf",
              help="The document (.json), a page (.html), or both in one PDF (needs Chromium).")
@click.option("--sign", "sign_path", metavar="KEY", help="Sign the document with this key.")
@reports_errors
def report_command(lake_uri: str, policy_path: str, keys_path: str, engine: str, master: str,
                   hosts_path: str | None, since: datetime | None, until: datetime | None,
                   out: str, sign_path: str | None) -> None:  # fmt: skip
    """Judge every sealed host-day in LAKE by one policy and one set of ranges (map), add the
    partial tables up (merge) and write one document (finalize), with its coverage: host-days
    not counted and why, listed hosts that sent nothing, unwatched time per host."""
    from agent.fleet import forms
    from agent.fleet.headline import sentence
    from agent.fleet.inputs import read_hosts
    from agent.fleet.report import report

    kind = envelope.kind_of(out)
    chromium = find_chromium() if kind == "pdf" else None
    if kind == "pdf" and chromium is None:
        raise SetupError("a PDF fleet report needs Chromium (or $RESIDENCY_CHROMIUM); write .html")
    key = load_private(_read(sign_path), sign_path) if sign_path else None
    hosts = read_hosts(hosts_path) if hosts_path else None
    doc = report(_request(lake_uri, policy_path, keys_path, hosts, _day(since), _day(until)),
                 engine, master)  # fmt: skip
    printer = (lambda page: print_pdf(page, chromium)) if chromium else None
    _write(out, forms.make(doc, kind, key, printer))
    click.echo(f"{out}: {sentence(doc)}")


@fleet.command("verify")
@click.argument("report_path", metavar="REPORT")
@click.option("--key", "key_path", required=True, metavar="FILE.pub")
@click.option("--lake", "lake_uri", required=True, metavar="LAKE")
@_request_options
@reports_errors
def verify_command(report_path: str, key_path: str, lake_uri: str, policy_path: str,
                   keys_path: str, engine: str, master: str) -> None:  # fmt: skip
    """Check a fleet report's signature, re-run it on LAKE with the same policy, ranges and
    host list, and name the first field that differs (exit 10)."""
    from agent.fleet import forms
    from agent.fleet.report import report
    from agent.report.difference import first_difference, shown
    from agent.report.sign import check

    doc = forms.read(_read(report_path), report_path)
    signer = check(doc, load_public(_read(key_path), key_path))
    period, inputs = doc.get("period", {}), doc.get("inputs", {})
    since, until = (date.fromisoformat(d) if d else None
                    for d in (period.get("since"), period.get("until")))  # fmt: skip
    shas = [r["sha256"] for r in inputs.get("ranges", [])]
    req = _request(lake_uri, policy_path, keys_path, inputs.get("hosts"), since, until, shas)
    again = report(req, engine, master)
    body = {k: v for k, v in doc.items() if k not in ("signature", forms.PRINTED)}
    diff = first_difference(body, again)
    if diff:
        raise ReportError(f"{report_path}: the re-run differs at {diff.path}: the report says "
                          f"{shown(diff.want)}, the lake gives {shown(diff.got)}")  # fmt: skip
    click.echo(f"{report_path}: signature good (key sha256:{signer[:16]}); re-run on "
               f"{lake_uri} gives the same document")  # fmt: skip


@main.command("export")
@click.argument("lake_uri", metavar="LAKE")
@click.option("--day", type=DAY, required=True, help="The UTC day to export.")
@click.option("--host", "hosts", multiple=True, help="Only this host (repeatable).")
@click.option("--format", "kind", type=click.Choice(["ocsf-json", "ecs-json"]), required=True)
@click.option("--policy", "policy_path", required=True, metavar="FILE")
@click.option("--host-keys", "keys_path", required=True, metavar="FILE")
@click.option("--out", default="-", show_default=True, metavar="FILE")
@reports_errors
def export_command(lake_uri: str, day: datetime, hosts: tuple[str, ...], kind: str,
                   policy_path: str, keys_path: str, out: str) -> None:  # fmt: skip
    """Write a day's verdicts from LAKE as OCSF Network Activity (4001) or ECS events, one JSON
    object a line, residency's fields under `residency` (docs/fleet-schema.md). Only host-days
    whose manifest checks are exported; the others are named on stderr."""
    from agent.chain.judging import Chain
    from agent.fleet.export import Events
    from agent.fleet.partial import lake_unit
    from agent.fleet.report import check_unit

    when = day.date()
    req = _request(lake_uri, policy_path, keys_path, None, when, when)
    with click.open_file(out, "w") as sink:
        chain = Chain(req.judge, Events(kind, sink))
        for unit in req.lake.units():
            if unit.date != when.isoformat() or (hosts and unit.host not in hosts):
                continue
            checked = check_unit(req, unit)
            if checked.manifest is None:
                warn(f"{unit.host} {unit.date}: not exported: {checked.status}: {checked.reason}")
                continue
            for name in sorted(f["file"] for f in checked.manifest["files"]):
                table = _parquet(req.lake, f"{req.lake.flows_dir(unit)}/{name}")
                chain.run(lake_unit(unit.host, [table]))


def _parquet(lake_: Any, path: str) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pq.read_table(pa.BufferReader(lake_.read(path) or b""))


def _request(
    lake_uri: str, policy_path: str, keys_path: str, hosts: list[str] | None,
    since: date | None, until: date | None, shas: list[str] | None = None,
) -> Any:  # fmt: skip
    from agent.findings.document import RangeInput
    from agent.fleet.inputs import read_keys
    from agent.fleet.lake import Lake
    from agent.fleet.report import Request
    from agent.policy.judge import Judge

    policy = load_policy(policy_path)
    lake_ = Lake.open(lake_uri)
    store = Store()
    chosen = _ranges(store, lake_, since, shas)
    keys, keys_sha = read_keys(keys_path)
    ranges = [RangeInput(v.slot, v.version, v.sha256, v.created, v.size) for v in chosen]
    judge = Judge(policy, store.table(chosen))
    return Request(lake_, policy, judge, ranges, keys, keys_sha, hosts, since, until)


def _ranges(store: Store, lake_: Any, since: date | None, shas: list[str] | None) -> list[Stored]:
    """The ranges a report names by sha256, else those in force on its first day."""
    if shas is not None:
        known = {v.sha256: v for v in store.versions()}
        lost = [s for s in shas if s not in known]
        if lost:
            raise ReportError(f"{store.root}: the range version sha256:{lost[0][:16]} the "
                              "report was judged by is not in the store")  # fmt: skip
        return sorted((known[s] for s in shas), key=lambda v: v.slot)
    first = since or min((date.fromisoformat(u.date) for u in lake_.units()), default=None)
    if first is None:
        return store.current()
    return store.in_force(datetime(first.year, first.month, first.day, tzinfo=UTC))


def _day(when: datetime | None) -> date | None:
    return None if when is None else when.date()


def _read(path: str) -> bytes:
    with open_input(path) as f:
        return f.read()


def _write(out: str, data: bytes) -> None:
    try:
        with open(out, "wb") as f:
            f.write(data)
    except OSError as err:
        raise ReportError(f"{out}: cannot write: {err.strerror}") from err
