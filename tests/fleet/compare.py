"""The fleet report beside `analyze --journal`: what each host's own analysis counts, summed over
hosts, must be what the fleet report counts of the same journals sealed into a lake."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from click.testing import CliRunner

from agent.cli import main

Sums = dict[tuple[str, ...], list[int]]


def analyzed(journals: Iterable[str], policy: str, env: dict[str, str]) -> tuple[Sums, Sums]:
    """(headline, breakdown) of `analyze --journal` of each journal, added up: every
    `{flows, bytes}` of the headline by its key, and the breakdown by verdict and place."""
    head: Sums = {}
    places: Sums = {}
    for journal in journals:
        done = CliRunner().invoke(main, ["analyze", "--journal", journal, "--policy", policy,
                                         "--json"], env=env)  # fmt: skip
        assert done.exit_code in (0, 1), done.stderr
        one_head, one_places = of_analysis(json.loads(done.stdout))
        _add(head, one_head)
        _add(places, one_places)
    return head, places


def of_analysis(doc: dict[str, Any]) -> tuple[Sums, Sums]:
    """(headline, breakdown) of one analysis document."""
    return _headline(doc["headline"]), _breakdown(doc["breakdown"])


def counted(doc: dict[str, Any]) -> tuple[Sums, Sums]:
    """The same sums of a fleet document, less what only a fleet counts (accesses, and the
    out-of-scope and excluded rows the analysis keeps out of its breakdown)."""
    head = {k: v for k, v in _headline(doc["headline"]).items() if k != ("access",)}
    rows = [r for r in doc["breakdown"] if r["verdict"] not in ("out", "excluded")]
    return head, _breakdown(rows)


def _headline(h: dict[str, Any]) -> Sums:
    return {(k,): [v["flows"], v["bytes"]] for k, v in h.items()
            if isinstance(v, dict) and "flows" in v and k != "approved_share"}  # fmt: skip


def _breakdown(rows: list[dict[str, Any]]) -> Sums:
    out: Sums = {}
    for r in rows:
        key = (r["verdict"], r["provider"], r["region"], r["border_group"], r["country"],
               r["site"])  # fmt: skip
        _add(out, {key: [r["flows"], r["bytes"]]})
    return out


def _add(into: Sums, more: Sums) -> None:
    for k, (flows, size) in more.items():
        have = into.setdefault(k, [0, 0])
        have[0] += flows
        have[1] += size
