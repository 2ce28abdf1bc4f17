"""A signed report, JSON or HTML, read back: not one byte may change unseen."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.errors import ReportError
from agent.report import envelope, html
from agent.report.sign import check
from tests.report.conftest import Demo

SAMPLES = 120


def verified(data: bytes, demo: Demo) -> dict[str, object]:
    _, env = envelope.read(data, "r")
    check(env, demo.key.public_key())
    return env


@pytest.mark.parametrize("kind", ["json", "html"])
def test_a_signed_report_reads_back_as_made(demo: Demo, kind: str) -> None:
    data = envelope.make(demo.report, kind, demo.key)
    assert envelope.read(data, "r")[0] == kind
    assert verified(data, demo)["report"] == json.loads(json.dumps(demo.report))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(st.data())
def test_any_changed_byte_of_a_signed_json_report_fails(demo: Demo, data: st.DataObject) -> None:
    signed = bytearray(envelope.make(demo.report, "json", demo.key))
    at = data.draw(st.integers(0, len(signed) - 1), label="offset")
    signed[at] ^= data.draw(st.integers(1, 255), label="xor")
    with pytest.raises(ReportError):
        verified(bytes(signed), demo)


@pytest.mark.parametrize("kind", ["json", "html"])
def test_sampled_byte_changes_fail_everywhere(demo: Demo, kind: str) -> None:
    """Every part of the file: start, end, the embedded JSON and the visible page."""
    signed = envelope.make(demo.report, kind, demo.key)
    rng = random.Random(7)
    places = {0, 1, len(signed) - 1, len(signed) - 2, *rng.sample(range(len(signed)), SAMPLES)}
    if kind == "html":
        start = signed.index(html.EMBED.encode()) + len(html.EMBED)
        places |= {start, start + 1, *rng.sample(range(start, start + 2000), 40)}
    for at in sorted(places):
        for xor in (0x01, 0x20, rng.randrange(1, 256)):
            changed = bytearray(signed)
            changed[at] ^= xor
            with pytest.raises(ReportError):
                verified(bytes(changed), demo)


@pytest.mark.parametrize("kind", ["json", "html"])
def test_inserted_or_removed_bytes_fail(demo: Demo, kind: str) -> None:
    signed = envelope.make(demo.report, kind, demo.key)
    for at in random.Random(3).sample(range(len(signed)), 30):
        for changed in (signed[:at] + signed[at + 1 :], signed[:at] + b" " + signed[at:]):
            with pytest.raises(ReportError):
                verified(changed, demo)
    with pytest.raises(ReportError):
        verified(signed + b"\n", demo)


def test_a_reformatted_json_report_is_not_the_signed_one(demo: Demo) -> None:
    """Same content, other spacing: still refused, since the bytes are what is attested."""
    signed = envelope.make(demo.report, "json", demo.key)
    pretty = json.dumps(json.loads(signed), indent=1, sort_keys=True).encode() + b"\n"
    with pytest.raises(ReportError, match="byte 1: the file is not canonical JSON"):
        envelope.read(pretty, "r")


def test_an_unsigned_report_reads_but_does_not_verify(demo: Demo) -> None:
    data = envelope.make(demo.report, "json")
    _, env = envelope.read(data, "r")
    assert "signature" not in env
    with pytest.raises(ReportError, match="not signed"):
        check(env, demo.key.public_key())


@pytest.mark.parametrize("data, message", [
    (b"hello", "not a residency report"),
    (b"{]", "not JSON"),
    (b'{"report": 1}\n', 'no "report" object'),
    (b'{"report": {"schema": "residency.analysis/1"}}\n', "schema"),
    (b'{"report": {}, "extra": 1}\n', "unknown keys"),
    (b"{\"report\": {}}\xff\n", "not UTF-8"),
    (b"<!DOCTYPE html><p>hi</p>", "carries no residency report"),
    (b"%PDF-1.4\n%%EOF\n", "carries no residency report"),
])  # fmt: skip
def test_what_is_not_a_report_says_so(data: bytes, message: str) -> None:
    with pytest.raises(ReportError, match=message):
        envelope.read(data, "r")


@pytest.mark.parametrize("name, kind", [("r.json", "json"), ("R.HTML", "html"),
                                        ("r.htm", "html"), ("a/b.pdf", "pdf")])  # fmt: skip
def test_forms_by_suffix(name: str, kind: str) -> None:
    assert envelope.kind_of(name) == kind


def test_other_suffixes_are_refused() -> None:
    with pytest.raises(ReportError, match=r"\.json, \.html or \.pdf"):
        envelope.kind_of("report.txt")
