"""The second half of `report verify`: where a report's inputs are at hand (the captures and
the policy at the paths it names, with the same SHA-256, or the journal it names still holding
the head it recorded; and every range version in the store), analyse them again and compare
the whole report. An edge: it opens files and the store.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from agent import __version__
from agent.analyze import analyze, file_sha256
from agent.errors import InputError, ReportError
from agent.files import open_input
from agent.intel.store import Store, Stored
from agent.journal import Head
from agent.policy.load import load_policy
from agent.report.build import Options, build
from agent.report.coverage import Watch
from agent.report.journal import from_journal
from agent.report.times import ns_of


@dataclass(frozen=True, slots=True)
class Rerun:
    done: bool
    why: str
    """What was run again, or why it could not be."""


def rerun(report: dict[str, Any], store: Store) -> Rerun:
    """Analyse the report's inputs again; ReportError if the result differs in any value."""
    try:
        i, o = report["inputs"], report["options"]
        chosen, missing = at_hand(i, store)
        paths = [c["path"] for c in i["captures"]]
        journals = [(j["path"], Head.parse(j["head"])) for j in i.get("journals", [])]
        window = _window(o.get("window"))
        options = Options(o["allow_unverified"], o["idle_timeout"], report.get("generated"),
                          window)  # fmt: skip
    except (KeyError, TypeError, AttributeError, ValueError) as err:
        raise ReportError(f"the report does not name its inputs and options: {err!r}") from err
    if len(journals) > 1 or (journals and (paths or window is None)):
        raise ReportError("the report names inputs that no `residency report` reads together")
    if missing:
        return Rerun(False, missing)
    policy = load_policy(i["policy"]["path"])
    watches: list[Watch] = []
    if journals:
        [(path, head)] = journals
        since, until = window or (None, None)
        result, watches = from_journal(path, policy, store, chosen, since, until, head)
        read = f"journal {path} up to seq {head.seq}"
    else:
        result = analyze(paths, policy, store, chosen, None, options.idle_timeout)
        read = f"{len(paths)} capture{'s' * (len(paths) != 1)}"
    diff = first_difference(report, build(result, policy, options, watches))
    if diff:
        made = report["tool"]["version"]
        other = "" if made == __version__ else f" (made by residency {made}, this is {__version__})"
        raise ReportError(f"the re-run gives a different report{other}: {diff}")
    return Rerun(True, f"{read}, policy {policy.name}, {len(chosen)} range versions")


def at_hand(inputs: dict[str, Any], store: Store) -> tuple[list[Stored], str]:
    """(the stored range versions the report names, "") or ([], why the inputs are not all
    at hand)."""
    try:
        for c in inputs["captures"]:
            if file_sha256(c["path"])[0] != c["sha256"]:
                return [], f"{c['path']} is not the capture the report names (sha256 differs)"
        p = inputs["policy"]
        with open_input(p["path"]) as f:
            if hashlib.sha256(f.read()).hexdigest() != p["sha256"]:
                return [], f"{p['path']} is not the policy the report names (sha256 differs)"
        for j in inputs.get("journals", []):
            with open_input(j["path"]):
                pass
    except InputError as err:
        return [], str(err)
    stored = {v.sha256: v for v in store.versions()}
    chosen = []
    for r in inputs["ranges"]:
        v = stored.get(r["sha256"])
        if v is None or not (store.objects / v.sha256).is_file():
            return [], f"range version {r['slot']} {r['version']} is not in {store.root}"
        chosen.append(v)
    return sorted(chosen, key=lambda v: v.slot), ""


def _window(given: Any) -> tuple[int | None, int | None] | None:
    """A journal report's `--since`/`--until` as recorded (decimal seconds or null) -> ns."""
    if given is None:
        return None
    since, until = given["since"], given["until"]
    return (None if since is None else ns_of(since), None if until is None else ns_of(until))


def first_difference(a: Any, b: Any, path: str = "report") -> str:
    """Where two documents first differ, for a message; "" when they are equal."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{path}.{k} is only in the {'re-run' if k in b else 'report'}"
            found = first_difference(a[k], b[k], f"{path}.{k}")
            if found:
                return found
        return ""
    if isinstance(a, list) and isinstance(b, list):
        for n, (x, y) in enumerate(zip(a, b, strict=False)):
            found = first_difference(x, y, f"{path}[{n}]")
            if found:
                return found
        if len(a) == len(b):
            return ""
        return f"{path} has {len(a)} entries in the report, {len(b)} in the re-run"
    if a == b and type(a) is type(b):
        return ""
    return f"{path}: the report says {_short(a)}, the re-run gives {_short(b)}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
