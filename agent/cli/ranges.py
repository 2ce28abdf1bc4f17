"""`ranges` and `lookup`: the range data, and who and where an address is."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from itertools import islice

import click

from agent.cli.base import main, reports_errors, utcnow, warn
from agent.errors import ResidencyError
from agent.intel.fetch import OFFICIAL, download
from agent.intel.lookup import lookup as lookup_addresses
from agent.intel.lookup import lookup_network, unmapped
from agent.intel.store import Store, read_bytes, stale
from agent.intel.table import Answer


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
    """Every stored version; `*` marks the current one of each source. A version's age counts
    from the date its file gives; a file that gives none (Azure's change numbers, DB-IP's CSV)
    is `undated`, with the days since it was imported beside it."""
    store = Store()
    now = utcnow()
    current = {v.sha256 for v in store.current()}
    rows = []
    for v in sorted(store.versions(), key=lambda v: (v.slot, v.dated)):
        age = (now - v.dated).days if v.created else None
        imported = (now - datetime.fromisoformat(v.imported)).days
        if as_json:
            click.echo(json.dumps({**asdict(v), "current": v.sha256 in current, "age_days": age,
                                   "imported_days": imported}))  # fmt: skip
            continue
        when = f"{age} days" if age is not None else f"undated (imported {imported} days ago)"
        rows.append(("*" if v.sha256 in current else " ", v.slot, v.version, when,
                     f"sha256:{v.sha256[:16]}"))  # fmt: skip
    if rows:
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            click.echo("  ".join(f"{x:<{w}}" for x, w in zip(r, widths, strict=True)).rstrip())
    if not store.versions():
        warn(f"no ranges stored in {store.root}; use `residency ranges import` or `update`")


@main.command()
@click.argument("addresses", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per address.")
@click.option("--as-of", type=click.DateTime(), help="Use the range versions current then.")
@reports_errors
def lookup(addresses: tuple[str, ...], as_json: bool, as_of: datetime | None) -> None:
    """Who and where each ADDRESS is: special-purpose class, operator site, provider, region,
    border group, services and country, with the source version that decided. With no
    ADDRESS (or `-`), addresses are read from standard input, one a line. A network
    (`3.80.0.0/12`) gets one answer when one source says the same of all of it, else a line
    for each part that sources tell apart. An IPv4-mapped address (`::ffff:a.b.c.d`) is
    answered as the IPv4 address it is. One warning, at most, says which versions are older
    than 30 days (at --as-of, else now)."""
    store = Store()
    when = as_of.replace(tzinfo=UTC) if as_of else None
    chosen = store.current(when)
    if not chosen:
        then = f" as of {as_of.date()}" if as_of else ""
        warn(f"no range data in {store.root}{then}: only special-purpose classes can be "
             "answered; use `residency ranges import` or `update`")  # fmt: skip
    old = stale(chosen, when or utcnow())
    if old:
        warn(old)
    table = store.table(chosen)
    items = _stdin_lines() if addresses in ((), ("-",)) else iter(addresses)
    for chunk in iter(lambda: list(islice(items, LOOKUP_BATCH)), []):
        single = [unmapped(a) for a in chunk if "/" not in a]
        answers = iter(lookup_addresses(table, single))
        for item in chunk:
            found = lookup_network(table, item) if "/" in item else [(item, next(answers))]
            for shown, a in found:
                _show(shown, a, as_json)


LOOKUP_BATCH = 10_000
"""Addresses from standard input looked up at once: one compiled probe per batch."""


def _stdin_lines() -> Iterator[str]:
    """Addresses from standard input, one a line; blank lines and `#` comments skipped."""
    for line in sys.stdin:
        text = line.split("#", 1)[0].strip()
        if text:
            yield text


def _show(shown: str, a: Answer, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({**a.as_dict(), "address": shown}))
        return
    where = " ".join(x for x in (a.provider, a.region, a.border_group) if x) or "-"
    place = ", ".join(x for x in (a.city, a.country) if x) or "-"
    site = f" site={a.site}" if a.site else ""
    click.echo(f"{shown:<40} {a.klass:<14} {where:<32} {place:<24} "
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
