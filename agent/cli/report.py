"""`report`, `report verify` and `keys generate`: signed verification reports for regulators."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from agent.chain.offline import analyze
from agent.cli.base import NOT_RERUN, main, reports_errors, utcnow, warn
from agent.cli.inputs import (
    capture_filter,
    dating_of,
    distinct_names,
    journal_window,
    nothing_proved,
    ns,
    one_source,
    range_inputs,
    unfiltered,
    warn_live_only,
    warn_ranges,
    warn_repeats,
)
from agent.errors import ReportError, SetupError
from agent.files import open_input
from agent.findings.analysis import Analysis
from agent.findings.dating import Dating
from agent.intel.store import Store
from agent.policy.load import load_policy
from agent.policy.model import Policy
from agent.records.source import record_kind
from agent.report import envelope
from agent.report.build import Options, build
from agent.report.chromium import find_chromium
from agent.report.coverage import Watch
from agent.report.journal import from_journal
from agent.report.pdf import print_pdf
from agent.report.rerun import rerun
from agent.report.sections import verdict_text
from agent.report.sign import check, generate, key_id, load_private, load_public

if TYPE_CHECKING:
    from agent.capture.bpf import Selector


class _MakeByDefault(click.Group):
    """`report CAPTURE...` makes a report (the `make` command); `report verify REPORT` checks
    one. A capture named like a command can still be given as `report make verify`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["make", *args]
        return super().parse_args(ctx, args)


@main.group(cls=_MakeByDefault)
def report() -> None:
    """Verification reports for regulators.

    \b
    residency report CAPTURE... --policy FILE --out REPORT.json|.html|.pdf [--sign KEY]
    residency report --journal PATH [--since T] [--until T] --policy FILE --out REPORT
    residency report verify REPORT --key KEY.pub

    The first two make a report (the `make` command) from captures or from a daemon's
    journal; the last checks one. Formats and fields: docs/report-schema.md; the method:
    docs/method.md."""


@report.command("make")
@click.argument("captures", nargs=-1, type=click.Path(dir_okay=True))
@journal_window
@click.option("--policy", "policy_path", required=True, metavar="FILE", help="The policy.")
@click.option("--out", required=True, metavar="REPORT", callback=lambda _c, _p, v: _form(v),
              help="Where to write: .json, .html, or .pdf (needs Chromium).")  # fmt: skip
@click.option("--sign", "key_path", metavar="KEY", help="Sign with this private key.")
@click.option("--allow-unverified", is_flag=True,
              help="Call the traffic compliant even when some could not be placed.")  # fmt: skip
@click.option("--as-of", type=click.DateTime(),
              help="Use the range versions in force then, not when the traffic began.")  # fmt: skip
@click.option("--idle-timeout", default=0.0, show_default=True, metavar="SECS",
              help="End a flow idle this long (capture time); 0: never.")  # fmt: skip
@click.option("--dated", is_flag=True,
              help="Record when the report was made (no two runs are then the same).")  # fmt: skip
@capture_filter
@reports_errors
def make(
    captures: tuple[str, ...], journal_path: str | None, since: datetime | None,
    until: datetime | None, policy_path: str, out: str, key_path: str | None,
    allow_unverified: bool, as_of: datetime | None, idle_timeout: float, dated: bool,
    selector: Selector | None,
) -> None:  # fmt: skip
    """Analyse CAPTURES (or the flows a daemon's --journal holds, up to its verified head) by
    the policy and write a report for regulators. CAPTURES are one recording, read in time
    order; --since/--until select the flows that overlap [since, until), from captures or the
    journal; --filter selects the capture records judged (the report names it, and its
    headline says so). The report is the same bytes for the same
    inputs. Exit 0 when written, whatever it found (its headline says); 5 when a capture is
    damaged part-way (the report covers what came before the damage); 9 when the journal
    fails verification; 12 when nothing was in scope (the report is written and says why)."""
    one_source(captures, journal_path)
    unfiltered(selector, journal_path, [p for p in captures if selector and record_kind(p)])
    if journal_path and idle_timeout:
        raise click.UsageError("--idle-timeout is for captures: the daemon ended journaled flows")
    kind = envelope.kind_of(out)
    chromium = find_chromium() if kind == "pdf" else None
    if kind == "pdf" and chromium is None:
        raise SetupError("a PDF report needs Chromium (or $RESIDENCY_CHROMIUM); write .html")
    key = load_private(_read(key_path), key_path) if key_path else None
    if key_path and os.stat(key_path).st_mode & 0o077:
        warn(f"{key_path}: the private key is readable by others")
    distinct_names((*captures, policy_path))
    policy = load_policy(policy_path)
    window = (ns(since), ns(until)) if journal_path or since or until else None
    dating = dating_of(captures, journal_path, since, as_of)
    result, watches = _analyse(captures, journal_path, window, policy, dating, idle_timeout,
                               selector)  # fmt: skip
    warn_repeats(result.captures)
    generated = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ") if dated else None
    options = Options(allow_unverified, idle_timeout, generated, window)
    doc = build(result, policy, options, watches, dating)
    warn_ranges(doc)
    printer = (lambda page: print_pdf(page, chromium)) if chromium else None
    _write(out, envelope.make(doc, kind, key, printer))
    signed = f", signed by key sha256:{key_id(key.public_key())[:16]}" if key else ""
    click.echo(f"{out}: {verdict_text(doc)[1]}{signed}")
    for j in doc["inputs"]["journals"]:
        away = float(doc["coverage"]["downtime"]["seconds"])
        click.echo(f"{out}: journal {journal_path} read up to head {j['head']} "
                   f"({j['rows']:,} rows); agent not watching for {away:,.0f} s of the "
                   "period")  # fmt: skip
    if result.damaged:
        raise result.damaged
    nothing_proved(doc)


def _analyse(
    captures: tuple[str, ...], journal: str | None, window: tuple[int | None, int | None] | None,
    policy: Policy, dating: Dating, idle_timeout: float, selector: Selector | None,
) -> tuple[Analysis, list[Watch]]:  # fmt: skip
    """The analysis behind a report, from captures or a journal, with the same range data as
    `analyze`: the versions in force when the traffic began."""
    store, chosen = range_inputs(dating)
    if journal:
        since, until = window or (None, None)
        return from_journal(journal, policy, store, chosen, since, until)
    warn_live_only(policy)
    return analyze(captures, policy, store, chosen, None, idle_timeout, window,
                   selector=selector), []  # fmt: skip


@report.command("verify")
@click.argument("path", metavar="REPORT")
@click.argument("more", nargs=-1, metavar="", type=click.Path())
@click.option("--key", "key_path", required=True, metavar="KEY.pub",
              help="The public key the report should be signed with.")  # fmt: skip
@click.option("--inputs", "roots", multiple=True, metavar="DIR...", type=click.Path(),
              help="Folders to find the report's inputs in, by content (default: the "
                   "report's folder and the current one).")  # fmt: skip
@reports_errors
def verify(path: str, more: tuple[str, ...], key_path: str, roots: tuple[str, ...]) -> None:
    """Check REPORT (JSON, HTML or PDF): its signature by KEY.pub, that no byte changed, and
    that analysing its inputs again gives the same report. The inputs are found by their
    SHA-256, whatever their names, in the --inputs folders (recursively; by default the
    report's folder and the current one; range files also in the store; a journal by the head
    the report recorded). Exit 0: verified and re-run; 10: it
    fails (a changed byte, the wrong key, an input changed, a different re-run); 13: the
    signature checked, the analysis not re-run (the inputs were not found)."""
    if more and not roots:
        raise click.UsageError(f"unexpected argument {more[0]!r}: folders go after --inputs")
    kind, env = envelope.read(_read(path), path)
    signer = check(env, load_public(_read(key_path), key_path))
    click.echo(f"{path}: {kind} report, signature good (ed25519, key sha256:{signer[:16]})")
    here = [os.path.dirname(path) or ".", "."]
    folders = [*roots, *more] or sorted(set(here), key=here.index)
    outcome = rerun(env["report"], Store(), folders, utcnow())
    if not outcome.done:
        click.echo(f"{path}: signature checked, analysis not re-run: {outcome.why}")
        sys.exit(NOT_RERUN)
    click.echo(f"{path}: re-run from the inputs gives the same report ({outcome.why})")


@main.group()
def keys() -> None:
    """Signing keys for reports."""


@keys.command("generate")
@click.argument("name")
@reports_errors
def keys_generate(name: str) -> None:
    """Write a new Ed25519 key pair: NAME, the private key (PKCS#8 PEM, mode 0600), and
    NAME.pub, the public key (one OpenSSH line) that `report verify --key` takes."""
    private, public = generate(Path(name).name)
    for path, data, mode in ((name, private, 0o600), (f"{name}.pub", public, 0o644)):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:
            raise click.UsageError(f"{path} exists; keys are never overwritten") from None
        except OSError as err:
            raise SetupError(f"{path}: cannot write: {err.strerror}") from err
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    pub = load_public(public, f"{name}.pub")
    click.echo(f"{name}: private key (keep it secret); {name}.pub: public key sha256:{key_id(pub)}")


def _form(out: str) -> str:
    try:
        envelope.kind_of(out)
    except ReportError as err:
        raise click.BadParameter(str(err)) from None
    return out


def _read(path: str) -> bytes:
    with open_input(path) as f:
        return f.read()


def _write(path: str, data: bytes) -> None:
    """Whole or not at all: a half-written report must not look like one."""
    tmp = Path(f"{path}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as err:
        raise SetupError(f"{path}: cannot write the report: {err.strerror}") from err
