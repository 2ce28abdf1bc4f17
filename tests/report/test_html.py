"""The HTML page: self-contained, derived from the report it embeds, and safe with hostile text."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re

import pytest

from agent.report import html
from agent.report.assets import CSS, JS
from agent.report.markup import pct
from tests.report.conftest import Demo
from tests.report.pages import Page


def page(demo: Demo, report: dict[str, object] | None = None) -> str:
    return html.render({"report": report or demo.report}).decode()


def test_the_page_carries_its_report_and_shows_the_headline(demo: Demo) -> None:
    text = page(demo)
    parsed = Page(text)
    assert {"headline", "verdict", "violations", "violations-table", "coverage", "method",
            "inputs", "residency-report"} <= parsed.ids()  # fmt: skip
    assert parsed.rows.get("violations-table", 0) == len(demo.report["violations"])
    assert json.loads(html.extract(text.encode(), "p")) == {"report": demo.report}
    h = demo.report["headline"]
    assert f"({h['approved']['bytes']:,} of {h['in_scope']['bytes']:,})" in text
    assert demo.report["inputs"]["policy"]["sha256"] in text


def test_nothing_is_fetched(demo: Demo) -> None:
    parsed = Page(page(demo))
    for tag, attrs in parsed.tags:
        assert "src" not in attrs or tag == "script" and attrs["src"] is None, tag
        href = attrs.get("href")
        assert href is None or href.startswith("#"), href
    text = page(demo)
    assert "@import" not in text and "url(" not in text


def test_the_security_policy_allows_exactly_the_inline_style_and_script(demo: Demo) -> None:
    text = page(demo)
    [csp] = re.findall(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text)
    assert "default-src 'none'" in csp and "connect-src" not in csp

    def sha(s: str) -> str:
        return "sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()

    assert f"style-src '{sha(CSS)}'" in csp and f"script-src '{sha(JS)}'" in csp
    assert f"<style>{CSS}</style>" in text and f"<script>{JS}</script>" in text
    assert ' style="' not in text  # the policy forbids style attributes


def test_hostile_text_stays_text(demo: Demo) -> None:
    """A policy may say anything; it must neither end the embedded JSON nor become markup."""
    report = copy.deepcopy(demo.report)
    evil = "</script><script>alert(1)</script><!-- <b>x</b> & \u2028"
    report["inputs"]["policy"]["text"] = evil
    report["inputs"]["policy"]["name"] = evil
    text = page(demo, report)
    assert text.count("<script") == 2 and "<b>x</b>" not in text
    assert json.loads(html.extract(text.encode(), "p"))["report"] == report


def test_the_page_is_the_same_whatever_order_the_report_was_built_in(demo: Demo) -> None:
    shuffled = json.loads(json.dumps(demo.report, sort_keys=True))
    assert page(demo, shuffled) == page(demo)


@pytest.mark.parametrize("part, whole, text", [
    (0, 0, "\u2014"), (0, 5, "0.0%"), (1, 1, "100.0%"), (999, 1000, "99.9%"),
    (99_999, 100_000, "99.9%"), (1, 3, "33.3%"), (2, 3, "66.6%"),
])  # fmt: skip
def test_shares_round_down_so_100_means_all(part: int, whole: int, text: str) -> None:
    assert pct(part, whole) == text


def test_an_empty_report_renders(demo: Demo) -> None:
    """No in-scope traffic: the page still says so, with empty charts and tables."""
    report = copy.deepcopy(demo.report)
    zero = {"flows": 0, "bytes": 0}
    for k in ("in_scope", "approved", "exempt", "violation", "unverified"):
        report["headline"][k] = zero
    report["headline"]["destinations"] = {"violation": 0, "unverified": 0}
    report["violations"] = report["unverified"] = []
    report["timeline"] = {"bin": None, "rows": []}
    report["breakdown"] = {k: [] for k in report["breakdown"]}
    report["compliant"] = False
    report["nothing_in_scope"] = "none of the 26 flows read matched scope.include (p.yaml:3)"
    text = page(demo, report)
    assert ('<div class="banner empty" id="verdict">NOTHING IN SCOPE of policy us-user-traffic: '
            "none of the 26 flows read matched scope.include (p.yaml:3)</div>") in text
    assert "COMPLIANT" not in text


def test_country_placed_traffic_is_labelled_so(demo: Demo) -> None:
    """A flow approved by a country rule is placed by country data, not "(unplaced)"."""
    report = copy.deepcopy(demo.report)
    report["breakdown"]["places"].append({
        "verdict": "approved", "provider": None, "region": None, "border_group": None,
        "country": "CA", "site": None, "city": None, "flows": 1, "bytes": 999_999})  # fmt: skip
    text = page(demo, report)
    assert "country data only (CA)" in text and "CA (country data)" in text  # bars and map
    assert "(unplaced)" not in text
    assert "no range or country data" in text  # the demo's address in no range and no country
