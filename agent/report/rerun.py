"""The second half of `report verify`: find the report's inputs by content in the folders given
(`found.find`: captures, policy and range files by SHA-256, range files also in the store; a
journal by the head it recorded), analyse them again under the names the report gave them, and
compare the whole report. An edge: it opens files and stores.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from agent import __version__
from agent.capture.bpf import Selector
from agent.chain import period
from agent.chain.offline import analyze
from agent.errors import BadFilter, ReportError
from agent.findings.analysis import Analysis
from agent.intel.store import Store, Stored, read_bytes
from agent.journal import Head
from agent.policy.load import load_policy
from agent.report.build import Options, build
from agent.report.difference import first_difference, shown
from agent.report.found import Found, find
from agent.report.journal import from_journal
from agent.report.times import ns_of


@dataclass(frozen=True, slots=True)
class Rerun:
    done: bool
    why: str
    """What was run again, or which inputs were not found."""


def rerun(report: dict[str, Any], store: Store, roots: Sequence[str], now: datetime) -> Rerun:
    """Analyse the report's inputs, found in `roots` (and the store), again; ReportError if the
    result differs in any value, or if a file bears an input's name but not its content. `now`
    dates the versions a scratch store imports."""
    try:
        i, o = report["inputs"], report["options"]
        captures = [(c["file"], c["sha256"]) for c in i["captures"]]
        journals = [(j["file"], Head.parse(j["head"])) for j in i.get("journals", [])]
        window = _window(o.get("window"))
        as_of = None if o.get("as_of") is None else ns_of(o["as_of"])
        options = Options(o["allow_unverified"], o["idle_timeout"], report.get("generated"),
                          window)  # fmt: skip
        have = {v.sha256 for v in store.versions() if (store.objects / v.sha256).is_file()}
        found = find(i, roots, have)
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        raise ReportError(f"the report does not name its inputs and options: {err!r}") from err
    if len(journals) > 1 or (journals and (captures or window is None)):
        raise ReportError("the report names inputs that no `residency report` reads together")
    _no_impostors(i, found)
    missing = _missing(i, found, have)
    if missing:
        return Rerun(False, f"not found in {', '.join(roots)} or the store: {'; '.join(missing)}")
    with _ranges(store, i["ranges"], found, now) as (ranges, chosen):
        policy = load_policy(found.paths[i["policy"]["sha256"]], i["policy"]["file"])
        since = window[0] if window else None
        if journals:
            [(file, head)] = journals
            path = found.paths.get(str(head)) or found.impostors[str(head)]  # fails below
            result, watches = from_journal(path, policy, ranges, chosen, since,
                                           window[1] if window else None, head)  # fmt: skip
            dating = period.of_journal(path, since, as_of, head)
            read = f"journal {file} up to seq {head.seq}"
        else:
            paths = [found.paths[digest] for _, digest in captures]
            dating = period.of_captures(paths, since, as_of)
            result = analyze(paths, policy, ranges, chosen, None, options.idle_timeout, window,
                             selector=_selector(i.get("filter")))  # fmt: skip
            watches = []
            read = f"{len(paths)} capture{'s' * (len(paths) != 1)}"
        again = build(_named(result, i), policy, options, watches, dating)
    _compare(report, again)
    return Rerun(True, f"{read}, policy {policy.name}, {len(chosen)} range versions")


def _named(result: Analysis, inputs: dict[str, Any]) -> Analysis:
    """The analysis with its inputs under the names the report gave them, wherever and
    however they were found."""
    captures = [replace(c, alias=named["file"])
                for c, named in zip(result.captures, inputs["captures"], strict=True)]
    journals = [replace(j, alias=named["file"])
                for j, named in zip(result.journals, inputs.get("journals", []), strict=True)]
    return replace(result, captures=captures, journals=journals)  # fmt: skip


def _compare(report: dict[str, Any], again: dict[str, Any]) -> None:
    diff = first_difference(report, again, "report")
    if diff:
        made = report["tool"]["version"]
        other = "" if made == __version__ else f" (made by residency {made}, this is {__version__})"
        raise ReportError(f"the re-run gives a different report{other}: {diff.path}: the report "
                          f"says {shown(diff.want)}, the re-run gives {shown(diff.got)}")


def _no_impostors(inputs: dict[str, Any], found: Found) -> None:
    """A file under an input's name with other content is that input, changed: a failure,
    not a missing input. (A journal so named is read, and `from_journal` says how it changed.)"""
    named = [("capture", c["file"], c["sha256"]) for c in inputs["captures"]]
    named += [("policy", inputs["policy"]["file"], inputs["policy"]["sha256"])]
    for kind, file, digest in named:
        if digest in found.impostors:
            raise ReportError(f"{found.impostors[digest]}: not the {kind} {file} the report "
                              f"names (its sha256 is not {digest}): the input was changed")


def _missing(inputs: dict[str, Any], found: Found, have: set[str]) -> list[str]:
    gone = [f"capture {c['file']} (sha256 {c['sha256']})" for c in inputs["captures"]
            if c["sha256"] not in found.paths]  # fmt: skip
    p = inputs["policy"]
    if p["sha256"] not in found.paths:
        gone.append(f"policy {p['file']} (sha256 {p['sha256']})")
    gone += [f"journal {j['file']} (head {j['head']})" for j in inputs.get("journals", [])
             if j["head"] not in found.paths and j["head"] not in found.impostors]  # fmt: skip
    gone += [f"range version {r['slot']} {r['version']} (sha256 {r['sha256']})"
             for r in inputs["ranges"]
             if r["sha256"] not in have and r["sha256"] not in found.paths]  # fmt: skip
    return gone


@contextmanager
def _ranges(
    store: Store, named: list[dict[str, Any]], found: Found, now: datetime
) -> Iterator[tuple[Store, list[Stored]]]:
    """The store and the versions the report names: the user's store when it holds them all,
    else a scratch store of them (from the store and the files found), gone afterwards."""
    stored = {v.sha256: v for v in store.versions() if (store.objects / v.sha256).is_file()}
    if all(r["sha256"] in stored for r in named):
        yield store, sorted((stored[r["sha256"]] for r in named), key=lambda v: v.slot)
        return
    with tempfile.TemporaryDirectory(prefix="residency-verify-") as tmp:
        scratch = Store(Path(tmp))
        chosen = []
        for r in named:
            digest = r["sha256"]
            path = str(store.objects / digest) if digest in stored else found.paths[digest]
            name = stored[digest].name if digest in stored else Path(path).name
            chosen.append(scratch.add(read_bytes(path), name, now)[0])
        yield scratch, sorted(chosen, key=lambda v: v.slot)


def _selector(expr: str | None) -> Selector | None:
    """The capture filter the report was made with, compiled again."""
    if expr is None:
        return None
    try:
        return Selector(expr)
    except BadFilter as err:
        raise ReportError(f"the report's capture filter does not compile: {err}") from err


def _window(given: Any) -> tuple[int | None, int | None] | None:
    """A journal report's `--since`/`--until` as recorded (decimal seconds or null) -> ns."""
    if given is None:
        return None
    since, until = given["since"], given["until"]
    return (None if since is None else ns_of(since), None if until is None else ns_of(until))
