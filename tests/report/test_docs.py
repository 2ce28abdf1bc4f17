"""The documents a regulator reads say what the code does: docs/method.md is the method every
report carries, and docs/report-schema.md names every field a report has."""

from __future__ import annotations

import re

from agent.report.method import markdown
from tests.report.conftest import ROOT, Demo

DOCS = ROOT / "docs"


def test_method_page_is_the_method_in_the_reports() -> None:
    assert (DOCS / "method.md").read_text() == markdown(), (
        "regenerate: python -c 'from agent.report.method import markdown; "
        "open(\"docs/method.md\", \"w\").write(markdown())'"
    )


def test_schema_names_every_field(demo: Demo) -> None:
    text = (DOCS / "report-schema.md").read_text()
    rows = set(re.findall(r"^\| `(\w+)` \|", text, re.M))
    assert set(demo.report) | {"generated"} == rows
    for key in demo.report["coverage"]:
        assert f"`{key}`" in text, key
    for key in demo.report["breakdown"]:
        assert f"`{key}`" in text, key
