"""The command line: the one place where errors become exit codes.

Exit codes: 0 done; 1 internal error; 2 usage (or an argument that is not an address);
3 an input cannot be opened; 4 not a capture; 5 a capture is damaged part-way (what came before
the damage is still output); 6 a range, country or sites file cannot be used; 7 a download
failed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from functools import wraps
from typing import Any

import click

from agent import __version__
from agent.capture import open_capture
from agent.errors import ResidencyError
from agent.intel.fetch import OFFICIAL, download
from agent.intel.lookup import lookup as lookup_addresses
from agent.intel.store import Store, read_bytes, stale, utcnow
from agent.model import seconds
from agent.pipeline import FlowPipeline, flows_from
from agent.render import stats_line, stats_section, write_csv, write_jsonl, write_table


def reports_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the project's errors into one `error:` line and their exit code."""

    @wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ResidencyError as err:
            sys.stdout.flush()
            click.echo(f"error: {err}", err=True)
            sys.exit(err.exit_code)

    return run


@click.group()
@click.version_option(__version__, prog_name="residency")
def main() -> None:
    """residency: prove from the network where traffic goes."""


@main.command()
@click.argument("captures", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one flow per line.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
@click.option("--stats", is_flag=True, help="Print full statistics (as JSON with --json).")
@click.option("--idle-timeout", default=0.0, show_default=True, metavar="SECS",
              help="End a flow idle this long (capture time); 0: never.")  # fmt: skip
@click.option("--active-timeout", default=0.0, show_default=True, metavar="SECS",
              help="End a flow that lived this long; 0: never.")  # fmt: skip
@click.option("--no-names", is_flag=True, help="Skip reading names (DNS, SNI, QUIC, HTTP Host).")
@reports_errors
def flows(
    captures: tuple[str, ...], as_json: bool, as_csv: bool, stats: bool,
    idle_timeout: float, active_timeout: float, no_names: bool,
) -> None:  # fmt: skip
    """List the flows in pcap/pcapng CAPTURES (gzipped or not), initiator first."""
    out = sys.stdout
    for n, path in enumerate(captures):
        pipe = FlowPipeline(idle_timeout, active_timeout, names=not no_names)
        try:
            with open_capture(path) as source:
                found = flows_from(source, pipe)
                if as_json:
                    write_jsonl(found, out, path)
                elif as_csv:
                    write_csv(found, out, path, header=n == 0)
                else:
                    write_table(found, out)
        finally:
            _report(path, pipe, as_json, stats)


@main.command()
@click.argument("captures", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.option("--json", "as_json", is_flag=True, help="JSON Lines, one binding per line.")
@reports_errors
def names(captures: tuple[str, ...], as_json: bool) -> None:
    """List the name-to-address bindings seen in CAPTURES: DNS answers, and the TLS/QUIC server
    names and HTTP Hosts of flows (bound to the flow's responder), first sighting first."""
    for path in captures:
        pipe = FlowPipeline()
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
                    click.echo(f"{seconds(ts)}  {how:<8} {name:<48} {address}")
            _report(path, pipe, as_json, full=False)


def _report(path: str, pipe: FlowPipeline, as_json: bool, full: bool) -> None:
    """Statistics and warnings go to stderr, so stdout stays pure data."""
    s = pipe.stats
    for warning in s.warnings:
        click.echo(f"warning: {warning}", err=True)
    if full and as_json:
        click.echo(json.dumps({"capture": path, "stats": s.as_dict()}), err=True)
    elif full:
        click.echo(stats_section(path, s), err=True)
    else:
        click.echo(stats_line(path, s), err=True)


@main.group()
def ranges() -> None:
    """The ranges store: provider range files, operator sites and country data."""


@ranges.command("import")
@click.argument("files", nargs=-1, required=True)
@reports_errors
def ranges_import(files: tuple[str, ...]) -> None:
    """Validate and store FILES (provider JSON, DB-IP CSV, .mmdb, sites YAML; gzipped or not),
    recognised by their content whatever their names."""
    store = Store()
    for path in files:
        rec, new = store.add(read_bytes(path), path, utcnow())
        state = "stored" if new else "already stored"
        click.echo(f"{path}: {rec.slot} {rec.version} sha256:{rec.sha256[:16]} {state}")


@ranges.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per stored version.")
@reports_errors
def ranges_list(as_json: bool) -> None:
    """Every stored version; `*` marks the current one of each source."""
    store = Store()
    now = utcnow()
    current = {v.sha256 for v in store.current()}
    for v in sorted(store.versions(), key=lambda v: (v.slot, v.dated)):
        age = (now - v.dated).days
        if as_json:
            click.echo(json.dumps({**asdict(v), "current": v.sha256 in current, "age_days": age}))
        else:
            mark = "*" if v.sha256 in current else " "
            click.echo(f"{mark} {v.slot:<22} {v.version:<34} {age:>5} days  sha256:{v.sha256[:16]}")
    if not store.versions():
        click.echo(f"no ranges stored in {store.root}; use `residency ranges import` or `update`",
                   err=True)  # fmt: skip


@main.command()
@click.argument("addresses", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per address.")
@click.option("--as-of", type=click.DateTime(), help="Use the range versions current then.")
@reports_errors
def lookup(addresses: tuple[str, ...], as_json: bool, as_of: datetime | None) -> None:
    """Who and where each ADDRESS is: special-purpose class, operator site, provider, region,
    border group, services and country, with the source version that decided."""
    store = Store()
    when = as_of.replace(tzinfo=UTC) if as_of else None
    chosen = store.current(when)
    if not chosen:
        then = f" as of {as_of.date()}" if as_of else ""
        hint = "use `residency ranges import` or `update`"
        click.echo(f"warning: no range data in {store.root}{then}: only special-purpose "
                   f"classes can be answered; {hint}", err=True)  # fmt: skip
    for warning in stale(chosen, when or utcnow()):
        click.echo(f"warning: {warning}", err=True)
    answers = lookup_addresses(store.table(chosen), addresses)
    for a in answers:
        if as_json:
            click.echo(json.dumps(a.as_dict()))
        else:
            where = " ".join(x for x in (a.provider, a.region, a.border_group) if x) or "-"
            place = ", ".join(x for x in (a.city, a.country) if x) or "-"
            site = f" site={a.site}" if a.site else ""
            click.echo(f"{a.address:<40} {a.klass:<14} {where:<32} {place:<24} "
                       f"{a.prefix or '-'}{site}  [{a.source or '-'}]")  # fmt: skip


@ranges.command("update")
@click.option("--url", "urls", multiple=True, metavar="SOURCE=URL",
              help="Use this address for a source instead of its official one.")  # fmt: skip
@click.option("--only", multiple=True, type=click.Choice(list(OFFICIAL)), help="Only these.")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds per download.")
@reports_errors
def ranges_update(urls: tuple[str, ...], only: tuple[str, ...], timeout: float) -> None:
    """Download the providers' official files, validate and store them. A source that fails is
    reported and the others still update; the exit code says whether all succeeded."""
    addresses = dict(OFFICIAL)
    for item in urls:
        source, sep, url = item.partition("=")
        if not sep or source not in OFFICIAL:
            raise click.BadParameter(
                f"{item!r}: expected SOURCE=URL, SOURCE one of {list(OFFICIAL)}"
            )
        addresses[source] = url
    store, failed = Store(), None
    for source in only or OFFICIAL:
        try:
            url, data = download(source, addresses[source], timeout)
            rec, new = store.add(data, url.rsplit("/", 1)[-1], utcnow())
        except ResidencyError as err:
            click.echo(f"error: {source}: {err}", err=True)
            failed = err
            continue
        click.echo(f"{source}: {rec.version} sha256:{rec.sha256[:16]} "
                   f"{'stored' if new else 'unchanged'}")  # fmt: skip
    if failed:
        sys.exit(failed.exit_code)
