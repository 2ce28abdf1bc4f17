"""`pretty.dumps` writes what `json.dumps(indent=1, sort_keys=True)` writes, for any JSON value
(hypothesis), for keys of every kind the encoder takes, and for a real analysis document."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.findings.pretty import dumps

SCALARS = (st.none() | st.booleans() | st.integers() | st.floats() | st.text())
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=5), inner, max_size=5),
    max_leaves=60,
)  # fmt: skip


def expected(value: Any) -> str:
    return json.dumps(value, indent=1, sort_keys=True)


@given(VALUES)
def test_the_same_text_as_the_standard_encoder(value: Any) -> None:
    assert dumps(value) == expected(value)


@pytest.mark.parametrize("keys", [[1, 2, -3], [1.5, 0.25], [True], [False], [None]])
def test_keys_that_are_not_text(keys: list[Any]) -> None:
    value = {k: [k, {"x": k}] for k in keys}
    assert dumps(value) == expected(value)


@pytest.mark.parametrize("text", ["{}", "[]", "\\", '"', ",:", '{"a":[1]}', "\\\"{"])
def test_structural_characters_inside_strings_stay_as_they_are(text: str) -> None:
    value = {text: [text, {text: text}, {}, []]}
    assert dumps(value) == expected(value)


def test_what_it_cannot_write_it_refuses_as_the_encoder_does() -> None:
    for bad in ({"a": object()}, {(1, 2): 3}):
        with pytest.raises(TypeError):
            dumps(bad)
        with pytest.raises(TypeError):
            expected(bad)
