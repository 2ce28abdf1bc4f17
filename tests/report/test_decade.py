"""Ten years of captures in one report: the timeline is drawn by the quarter, the map puts the
Local Zone leak in Buenos Aires, and the labels say what they are (places and file names that
do not wrap, the age of each range file when the traffic began and ended)."""

from __future__ import annotations

import re
from typing import Any

from agent.report import html, worldmap
from agent.report.svg import COLORS
from tests.report.conftest import DECADE, ZONE


def test_the_timeline_is_by_the_quarter(decade: dict[str, Any]) -> None:
    t = decade["timeline"]
    assert t["bin"] == "3 months"
    assert len({r["start"] for r in t["rows"]}) == len(DECADE)
    assert sum(r["bytes"] for r in t["rows"]) == decade["headline"]["in_scope"]["bytes"]
    page = html.render({"report": decade}).decode()
    assert "by 3 months from 2016-01-01 00:00:00" in page


def test_the_local_zone_leak_is_a_violation_in_buenos_aires(decade: dict[str, Any]) -> None:
    [leak] = [d for d in decade["violations"] if d["border_group"] == ZONE[2]]
    assert (leak["country"], leak["city"], leak["region"]) == ("AR", "Buenos Aires", ZONE[1])
    page = html.render({"report": decade}).decode()
    assert f'<span class="place">aws {ZONE[1]} {ZONE[2]}</span>' in page
    svg = page[page.index('<svg xmlns="http://www.w3.org/2000/svg" class="chart map"'):]
    marker = svg[svg.index("<g><title>Buenos Aires, AR"):]
    assert COLORS["violation"] in marker[: marker.index("</g>")]
    assert worldmap.where(leak) == ("AR", "Buenos Aires")


def test_evidence_names_and_places_do_not_wrap(decade: dict[str, Any]) -> None:
    page = html.render({"report": decade}).decode()
    assert '<span class="file">archive-2016-03-15.pcapng:</span>' in page
    assert ".place, .file { white-space: nowrap; }" in page
    assert 'class="small mono evidence"' in page


def test_no_process_column_when_no_flow_has_one(decade: dict[str, Any]) -> None:
    page = html.render({"report": decade}).decode()
    table = page[page.index('<table id="violations-table"'):]
    heads = re.findall(r"<th[^>]*>([^<]+)</th>", table[: table.index("</thead>")])
    assert "process" not in heads and "evidence" in heads
    with_process = {**decade, "violations": [{**decade["violations"][0],
                                              "processes": ["app (pid 7, alice)"]}]}  # fmt: skip
    page = html.render({"report": with_process}).decode()
    assert "<th>process</th>" in page and "app (pid 7, alice)" in page


def test_each_range_file_says_its_age_at_the_traffic(decade: dict[str, Any]) -> None:
    page = html.render({"report": decade}).decode()
    inputs = page[page.index('<section id="inputs">'):]
    assert "age at the traffic&#x27;s time" in inputs
    ages = {x["slot"]: x for x in decade["inputs"]["ranges"]}
    assert ages["aws"]["published"].startswith("2016-01-01")
    assert "2 months old at its start, 10.2 years old at its end (stale)" in inputs  # AWS 2016
    assert "published 10.0 years AFTER its start, 14 days old at its end" in inputs  # OCI 2026
    assert "not known: the file does not say when it was published" in inputs  # Azure's
