"""`analyze` and `policy check`: did US user traffic end at approved endpoints?"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

import click

from agent.chain.offline import analyze, analyze_journal
from agent.chain.recording import Progress
from agent.cli.base import main, quiet, reports_errors, utcnow
from agent.cli.inputs import (
    aws_format,
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
from agent.errors import PolicyError
from agent.files import open_input
from agent.findings import pretty
from agent.findings.document import document
from agent.findings.headline import plural
from agent.findings.text import render
from agent.intel.store import Store
from agent.policy.check import Finding, Known, check
from agent.policy.load import load_policy, read_policy
from agent.policy.model import Policy
from agent.records.source import record_kind

if TYPE_CHECKING:
    from agent.capture.bpf import Selector


@main.command("analyze")
@click.argument("captures", nargs=-1, type=click.Path(dir_okay=True))
@click.option("--policy", "policy_path", required=True, metavar="FILE",
              help="The policy (see rules/policy.yaml).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="One JSON document (schema in docs/).")
@click.option("--allow-unverified", is_flag=True,
              help="Exit 0 even when some in-scope traffic could not be placed.")  # fmt: skip
@click.option("--as-of", type=click.DateTime(),
              help="Use the range versions in force then, not when the traffic began.")  # fmt: skip
@click.option("--idle-timeout", default=0.0, show_default=True, metavar="SECS",
              help="End a flow idle this long (capture time); 0: never.")  # fmt: skip
@capture_filter
@aws_format
@journal_window
@reports_errors
def analyze_command(
    captures: tuple[str, ...], policy_path: str, as_json: bool, allow_unverified: bool,
    as_of: datetime | None, idle_timeout: float, selector: Selector | None,
    fields: list[str] | None, journal_path: str | None, since: datetime | None,
    until: datetime | None,
) -> None:  # fmt: skip
    """Judge every flow in CAPTURES (or a daemon's --journal) by the policy and say whether all
    in-scope traffic ended at approved endpoints. CAPTURES are one recording, read in time
    order (a connection that goes on into the next file is one flow; a file given twice is
    read once). With --since/--until, only the flows that overlap [since, until) are
    judged. Flow logs and conn.logs among CAPTURES (found by content) are judged the same
    way. With --filter, only the capture records it selects are decoded and judged, and the
    headline says so. Exit 0: compliant; 1: violations (or
    unverified traffic); 5: a capture is damaged (the analysis covers what came before the
    damage); 9: the journal fails verification; 12: nothing was in scope (the output says
    why)."""
    one_source(captures, journal_path)
    unfiltered(selector, journal_path, [p for p in captures if selector and record_kind(p)])
    distinct_names((*captures, policy_path))
    policy = load_policy(policy_path)
    dating = dating_of(captures, journal_path, since, as_of)
    store, chosen = range_inputs(dating)
    if journal_path:
        result = analyze_journal(journal_path, policy, store, chosen, ns(since), ns(until))
    else:
        warn_live_only(policy)
        window = (ns(since), ns(until)) if since or until else None
        with _progress(captures) as tick:
            result = analyze(captures, policy, store, chosen, tick, idle_timeout, window, fields,
                             selector)  # fmt: skip
        warn_repeats(result.captures)
    doc = document(result.tally, policy, result.captures, result.ranges, allow_unverified,
                   result.journals, dating, result.window, result.records,
                   result.capture_filter)  # fmt: skip
    warn_ranges(doc)
    if as_json:
        click.echo(pretty.dumps(doc))
    else:
        click.echo(render(doc))
    if result.damaged:
        raise result.damaged
    nothing_proved(doc)
    sys.exit(0 if doc["compliant"] else 1)


@contextmanager
def _progress(paths: tuple[str, ...]) -> Iterator[Progress | None]:
    """A progress bar on a terminal (stderr), for plain captures; nothing when piped."""
    if not sys.stderr.isatty():
        yield None
        return
    total = sum(os.path.getsize(p) for p in paths if os.path.isfile(p))
    with click.progressbar(length=total, label="reading", file=sys.stderr) as bar:
        yield bar.update


@main.group()
def policy() -> None:
    """Policy files: which traffic is in scope and where it may end."""


def _access(p: Policy) -> str:
    a = p.access
    if not a.protect:
        return ""
    return (f"; access: {len(a.protect)} protected service, {len(a.allow)} allow and "
            f"{len(a.exceptions)} exception rules")


@policy.command("check")
@click.argument("files", nargs=-1, required=True)
@reports_errors
def policy_check(files: tuple[str, ...]) -> None:
    """Validate policy FILES: syntax, keys, types, networks and dates, then against the stored
    range data (regions, border groups and sites no file names) and today's date (expired
    exceptions), all in one run. Every problem is one `file:line:col: error|warning: message`
    line, in file order; exit 8 if any is an error."""
    store = Store()
    chosen = store.current()
    known = Known.of(store.table(chosen).labels) if chosen else None
    errors = 0
    for path in files:
        with open_input(path) as f:
            data = f.read()
        parsed, problems = read_policy(data, path)
        found = [Finding(p, True) for p in problems]
        if parsed is not None:
            if known is None and not quiet():
                click.echo(f"{path}: warning: no range data stored: regions and sites not checked")
            found += check(parsed, known, utcnow().date())
        for finding in sorted(found, key=lambda f: f.problem):
            if quiet() and not finding.error:
                continue
            kind = "error" if finding.error else "warning"
            line, col, message = finding.problem
            click.echo(f"{path}:{line}:{col}: {kind}: {message}")
        errors += sum(f.error for f in found)
        if parsed is not None and not problems:
            click.echo(f"{path}: read: {len(parsed.include)} scope, {len(parsed.exclude)} "
                       f"exclusion, {len(parsed.approve)} approval and "
                       f"{len(parsed.exceptions)} exception rules{_access(parsed)}")  # fmt: skip
    if errors:
        raise PolicyError(files[0] if len(files) == 1 else "policy", 0, 0,
                          f"{plural(errors, 'error')} found")  # fmt: skip
