"""deploy/grafana-dashboard.json queries only what the daemon exports, each the way its type
allows (rate/increase over counters only), and leaves no exported metric unseen."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from agent.daemon.metrics import Metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana-dashboard.json"
METRIC = re.compile(r"\b(residency_[a-z_]+)\b")
OVER_TIME = re.compile(r"\b(rate|increase|irate)\(\s*(residency_[a-z_]+)")


def expressions() -> list[str]:
    board: dict[str, Any] = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
    exprs += [v["query"] for v in board["templating"]["list"] if v["type"] == "query"]
    return exprs


def test_every_queried_metric_is_exported() -> None:
    queried = {m for e in expressions() for m in METRIC.findall(e)}
    assert queried and queried <= set(Metrics.HELP), queried - set(Metrics.HELP)


def test_every_exported_metric_is_on_the_dashboard() -> None:
    queried = {m for e in expressions() for m in METRIC.findall(e)}
    assert set(Metrics.HELP) <= queried, set(Metrics.HELP) - queried


def test_rates_are_taken_of_counters_only() -> None:
    for expr in expressions():
        for _fn, name in OVER_TIME.findall(expr):
            assert Metrics.HELP[name][0] == "counter", (name, expr)
        for name in METRIC.findall(expr):
            if Metrics.HELP[name][0] == "counter":
                assert OVER_TIME.search(expr) or "label_values" in expr, (
                    f"counter {name} shown raw (it only grows): {expr}"
                )


def test_panels_have_unique_ids_and_a_description() -> None:
    board = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    assert all(p["description"] for p in board["panels"])
