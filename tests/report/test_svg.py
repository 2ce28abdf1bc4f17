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
    for text in (svg.bars("t", []), svg.timeline({"bin": None, "rows": []}, None, None)):
        assert "no in-scope traffic" in [t.text for t in parse(text).findall(f"{NS}text")]
    parse(svg.bars("t", [("zero", {"approved": 0})]))


def test_a_short_capture_is_drawn_by_the_second() -> None:
    """12 seconds: 13 one-second slots, the empty ones left empty, ticks to the second."""
    t = {"bin": "1 s", "rows": [
        {"start": "2026-03-02T14:00:05Z", "verdict": "approved", "bytes": 5, "flows": 1},
        {"start": "2026-03-02T14:00:05Z", "verdict": "violation", "bytes": 3, "flows": 1},
        {"start": "2026-03-02T14:00:17Z", "verdict": "violation", "bytes": 7, "flows": 1}]}
    root = parse(svg.timeline(t, "1772460005.25", "1772460017.5"))
    bars = rects(root)
    assert len(bars) == 3
    xs = sorted({float(r.get("x") or 0) for r in bars})
    assert len(xs) == 2 and (xs[1] - xs[0]) == pytest.approx(12 * (svg.WIDTH - 80) / 13, abs=0.2)
    labels = [t.text for t in root.findall(f"{NS}text")]
    assert "14:00:05" in labels and any("by 1 s" in (x or "") for x in labels)


def test_a_ten_year_archive_is_drawn_by_the_quarter() -> None:
    t = {"bin": "3 months", "rows": [
        {"start": "2016-01-01T00:00:00Z", "verdict": "approved", "bytes": 5, "flows": 1},
        {"start": "2026-01-01T00:00:00Z", "verdict": "exempt", "bytes": 9, "flows": 2}]}
    root = parse(svg.timeline(t, "1458000000", "1773500000"))  # 2016-03-15 .. 2026-03-14
    labels = [t.text for t in root.findall(f"{NS}text")]
    assert "2016-01" in labels and len(rects(root)) == 2
    assert "by 3 months from 2016-01-01 00:00:00" in labels[0]


def test_the_same_numbers_give_the_same_chart() -> None:
    """However the verdicts were counted (in which order), the chart is the same bytes."""
    rows = [("a", {"approved": 1, "unverified": 2})]
    assert svg.bars("t", rows) == svg.bars("t", [("a", {"unverified": 2, "approved": 1})])


@pytest.mark.parametrize("n, text", [(0, "0 B"), (999, "999 B"), (1000, "1 kB"),
                                     (412_702, "413 kB"), (999_999_999, "1 GB"),
                                     (5 * 10**12, "5 TB"), (10**16, "10000 TB")])  # fmt: skip
def test_human_bytes(n: int, text: str) -> None:
    assert svg.human(n) == text
