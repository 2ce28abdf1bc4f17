"""Charts: well-formed SVG for any numbers, with the rows and bars the numbers call for."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from agent.report import svg

NS = "{http://www.w3.org/2000/svg}"


def parse(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == f"{NS}svg"
    return root


def rects(root: ET.Element) -> list[ET.Element]:
    return root.findall(f"{NS}rect")


def test_bars_stack_verdicts_per_label() -> None:
    root = parse(svg.bars("t", [("us <east> & co", {"approved": 10, "violation": 5}),
                                ("sg", {"exempt": 3})]))  # fmt: skip
    assert len(rects(root)) == 3
    labels = [t.text for t in root.findall(f"{NS}text")]
    assert "us <east> & co" in labels and "15 B" in labels
    widths = [float(r.get("width") or 0) for r in rects(root)]
    assert widths[0] == pytest.approx(2 * widths[1], abs=0.2)


def test_many_bars_end_in_one_row_of_the_rest() -> None:
    rows = [(f"r{i}", {"approved": 100 - i}) for i in range(30)]
    root = parse(svg.bars("t", rows))
    assert len(rects(root)) == svg.BAR_ROWS
    assert "19 others" in [t.text for t in root.findall(f"{NS}text")]


def test_empty_charts_say_so() -> None:
    for text in (svg.bars("t", []), svg.timeline([])):
        assert "no in-scope traffic" in [t.text for t in parse(text).findall(f"{NS}text")]
    parse(svg.bars("t", [("zero", {"approved": 0})]))


def test_timeline_by_hour_then_by_day() -> None:
    hourly = [{"hour": "2026-03-02T14:00:00Z", "verdict": "approved", "bytes": 5, "flows": 1},
              {"hour": "2026-03-02T16:00:00Z", "verdict": "violation", "bytes": 7, "flows": 1}]
    root = parse(svg.timeline(hourly))
    assert len(rects(root)) == 2
    assert "03-02 14:00" in [t.text for t in root.findall(f"{NS}text")]
    daily = [{**hourly[0], "hour": "2026-01-01T00:00:00Z"},
             {**hourly[1], "hour": "2026-03-02T16:00:00Z"}]
    root = parse(svg.timeline(daily))
    assert "2026-01-01" in [t.text for t in root.findall(f"{NS}text")]


def test_the_same_numbers_give_the_same_chart() -> None:
    """However the verdicts were counted (in which order), the chart is the same bytes."""
    rows = [("a", {"approved": 1, "unverified": 2})]
    assert svg.bars("t", rows) == svg.bars("t", [("a", {"unverified": 2, "approved": 1})])


@pytest.mark.parametrize("n, text", [(0, "0 B"), (999, "999 B"), (1000, "1 kB"),
                                     (412_702, "413 kB"), (999_999_999, "1 GB"),
                                     (5 * 10**12, "5 TB"), (10**16, "10000 TB")])  # fmt: skip
def test_human_bytes(n: int, text: str) -> None:
    assert svg.human(n) == text
