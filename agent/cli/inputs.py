"""What `flows`, `analyze` and `report` read, set up in one place so the commands cannot drift
(a report must rest on what `analyze` would have used): the traffic's time, the range data in
force then and its warnings, the journal that can stand in for captures, and the window of time
that selects flows from either."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from agent.cli.base import warn
from agent.errors import BadFilter, NothingInScope
from agent.files import input_name

if TYPE_CHECKING:  # imported where used: `residency flows` loads none of them
    from agent.capture.bpf import Selector
    from agent.findings.dating import Dating
    from agent.findings.document import CaptureInput
    from agent.intel.store import Store, Stored
    from agent.policy.model import Policy


def dating_of(
    captures: tuple[str, ...], journal_path: str | None, since: datetime | None,
    as_of: datetime | None,
) -> Dating:  # fmt: skip
    """When the traffic began (read before it is judged) and what `--as-of` overrides."""
    from agent.chain import period

    if journal_path:
        return period.of_journal(journal_path, ns(since), ns(as_of))
    return period.of_captures(captures, ns(since), ns(as_of))


def range_inputs(dating: Dating) -> tuple[Store, list[Stored]]:
    """The store and, per slot, the range version in force when the traffic began (or at
    `--as-of`; with neither, the newest); warns when there are none, since every destination
    would then be unverified."""
    from agent.intel.store import Store

    store = Store()
    at = dating.chosen_for
    chosen = store.in_force(at) if at else store.current()
    if not chosen:
        warn(f"no range data in {store.root}: every destination will be unverified; use "
             "`residency ranges import` or `update`")  # fmt: skip
    return store, chosen


def warn_ranges(doc: dict[str, Any]) -> None:
    """The document's notices on range versions later than the traffic or stale for it: they
    are in the document (and the report) too, not only here."""
    for notice in doc["range_notices"]:
        warn(notice)


def distinct_names(paths: tuple[str, ...]) -> None:
    """A report names its inputs by file name: two different files of one name are refused."""
    seen: dict[str, str] = {}
    for path in paths:
        name, real = input_name(path), os.path.realpath(path)
        if seen.setdefault(name, real) != real:
            raise click.UsageError(f"two inputs are named {name} ({path} and another): a report "
                                   "names its inputs by file name, so give one another name")


def warn_repeats(captures: list[CaptureInput]) -> None:
    """That a capture given twice was read once, as the document says it."""
    from agent.findings.document import capture_warnings

    for c in captures:
        if c.repeat:
            for warning in capture_warnings(c, captures):
                warn(warning)


F = TypeVar("F", bound=Callable[..., Any])


def aws_format(fn: F) -> F:
    """`--aws-format FIELDS`: the format of AWS flow logs without a header line (CloudWatch
    delivery, custom formats), as AWS writes it (`${version} ${srcaddr} ...`) or bare names."""

    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> list[str] | None:
        from agent.records.aws import parse_format

        try:
            return None if value is None else parse_format(value)
        except ValueError as err:
            raise click.BadParameter(str(err).split(": ", 1)[1]) from err

    help_ = "AWS flow log format, for logs without a header line."
    return click.option("--aws-format", "fields", metavar="FIELDS", callback=check, help=help_)(fn)


def capture_filter(fn: F) -> F:
    """`--filter EXPR`: a capture filter in tcpdump's syntax, the language of the daemon's
    `filter:`, run over the records before they are decoded. It is given to the command as a
    compiled `Selector` (None without it); one that libpcap cannot compile is a usage error
    before anything is read."""

    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> Selector | None:
        from agent.capture.bpf import Selector

        try:
            return None if value is None else Selector(value)
        except BadFilter as err:
            raise click.BadParameter(str(err)) from err

    help_ = "Only the records this BPF filter (tcpdump syntax) selects, e.g. 'tcp port 443'."
    return click.option("--filter", "selector", metavar="EXPR", callback=check, help=help_)(fn)


def unfiltered(selector: Selector | None, journal_path: str | None,
               record_files: Sequence[str] = ()) -> None:  # fmt: skip
    """A capture filter selects packets: a journal or a flow record file has none to select."""
    if selector is not None and (journal_path or record_files):
        held = f"the journal {journal_path}" if journal_path else f"{record_files[0]} (flows)"
        raise click.UsageError(f"--filter selects capture records: {held} holds none")


def journal_window(fn: F) -> F:
    """The options `--journal PATH --since T --until T`, the same wherever a daemon's journal
    can stand in for captures; the window selects flows the same way from either."""
    for option in (
        click.option("--until", type=click.DateTime(),
                     help="Only flows that began before then (UTC)."),
        click.option("--since", type=click.DateTime(),
                     help="Only flows still going at or after then (UTC): a flow that overlaps "
                          "[since, until) counts whole."),
        click.option("--journal", "journal_path", metavar="PATH",
                     help="Read the flows a daemon journaled instead of captures."),
    ):  # fmt: skip
        fn = option(fn)
    return fn


def one_source(captures: tuple[str, ...], journal_path: str | None,
               what: str = "CAPTURES") -> None:  # fmt: skip
    if bool(captures) == bool(journal_path):
        raise click.UsageError(f"give {what} or --journal PATH (one of them)")


def ns(when: datetime | None) -> int | None:
    """A UTC wall time from the command line as ns since the epoch (None stays None)."""
    return None if when is None else int(when.replace(tzinfo=UTC).timestamp()) * 1_000_000_000


def warn_live_only(policy: Policy) -> None:
    """Warn once that live-only keys (processes, users ...) match nothing in captures."""
    rules = [r for r in (*policy.include, *policy.exclude) if r.match.live_only()]
    if rules:
        said = ", ".join(f"{r.name} ({'/'.join(r.match.live_only())}, {r.where})" for r in rules)
        warn(f"{policy.path}: live-only keys match nothing in captures: {said}")


def nothing_proved(doc: dict[str, Any]) -> None:
    """An analysis with nothing in scope ends in its own exit code, after its output."""
    if doc["nothing_in_scope"]:
        raise NothingInScope(doc["nothing_in_scope"])
