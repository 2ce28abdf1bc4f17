"""Every record parser on every real sample, cut short anywhere or with a byte changed: the
only outcomes allowed are records or one CorruptRecords naming a place, never another error."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.errors import CorruptRecords
from agent.records.detect import detect_records
from agent.records.parse import parse_records
from tests.truth import FLOWLOGS

SAMPLES = sorted(
    p for d in ("aws-vpc", "oci-vcn", "gcp-vpc", "azure-nsg", "azure-vnet", "zeek-conn")
    for p in (FLOWLOGS / d).glob("*") if p.suffix in (".log", ".json")
) if FLOWLOGS.is_dir() else []  # fmt: skip


def outcome(data: bytes, kind: str) -> None:
    try:
        for _ in parse_records(data, kind, "x"):
            pass
    except CorruptRecords as err:
        assert str(err).startswith("x: ") and (" line " in str(err) or " offset " in str(err)
                                               or " row " in str(err))  # fmt: skip


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
@settings(max_examples=40, deadline=None)
@given(cut=st.floats(0, 1), flip=st.integers(0, 1 << 20), bit=st.integers(0, 7))
def test_cut_or_changed_anywhere(path: Path, cut: float, flip: int, bit: int) -> None:
    data = path.read_bytes()
    kind = detect_records(data)
    assert kind is not None
    outcome(data[: int(len(data) * cut)], kind)
    changed = bytearray(data)
    changed[flip % len(data)] ^= 1 << bit
    outcome(bytes(changed), kind)
