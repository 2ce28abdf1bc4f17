"""The one comparison `report verify` and `fleet verify` name a re-run's first difference by."""

from __future__ import annotations

from enum import StrEnum

import pytest

from agent.report.difference import ABSENT, Difference, first_difference, shown


class Verdict(StrEnum):
    APPROVED = "approved"


DOC = {"headline": {"flows": 3, "verdict": "approved"}, "rows": [{"bytes": 1}, {"bytes": 2}]}


@pytest.mark.parametrize(("other", "expected"), [
    (DOC, None),
    ({**DOC, "headline": {"flows": 3, "verdict": Verdict.APPROVED}}, None),
    ({**DOC, "headline": {"flows": 3.0, "verdict": "approved"}},
     Difference("headline.flows", 3, 3.0)),
    ({**DOC, "headline": {"flows": True, "verdict": "approved"}},
     Difference("headline.flows", 3, True)),
    ({**DOC, "rows": [{"bytes": 1}, {"bytes": 5}]}, Difference("rows[1].bytes", 2, 5)),
    ({**DOC, "rows": [{"bytes": 1}]}, Difference("rows[1]", {"bytes": 2}, ABSENT)),
    ({**DOC, "extra": 1}, Difference("extra", ABSENT, 1)),
    ({"headline": DOC["headline"]}, Difference("rows", DOC["rows"], ABSENT)),
    ([1], Difference("", DOC, [1])),
])  # fmt: skip
def test_the_first_difference_in_key_order(other: object, expected: Difference | None) -> None:
    assert first_difference(DOC, other) == expected


def test_the_values_shown() -> None:
    assert (shown(ABSENT), shown({"b": 1, "a": [2]}), shown("x" * 300)) == (
        "nothing", '{"a": [2], "b": 1}', '"' + "x" * 199)  # fmt: skip
    found = first_difference(DOC, {**DOC, "rows": []}, "report")
    assert found == Difference("report.rows[0]", {"bytes": 1}, ABSENT)
