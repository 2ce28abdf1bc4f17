"""Flows as text by compiled code: every address as `ipaddress` writes it, and JSON lines that
parse back to what they were given, whatever the integers."""

from __future__ import annotations

import ipaddress
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.flows.text import INT_FIELDS, STR_FIELDS, address, addresses, json_lines
from agent.model import TCP_FLAGS_TEXT, seconds

ZERO_RUNS = st.lists(st.sampled_from([0, 0, 0, 1, 0xFFFF, 0x0ABC]), min_size=8, max_size=8)


@given(st.one_of(st.integers(0, (1 << 128) - 1), ZERO_RUNS.map(
    lambda groups: sum(g << (16 * (7 - i)) for i, g in enumerate(groups)))))  # fmt: skip
def test_ipv6_as_ipaddress_writes_it(value: int) -> None:
    assert address(value >> 64, value & (1 << 64) - 1, 6) == str(ipaddress.IPv6Address(value))


@given(st.integers(0, (1 << 32) - 1))
def test_ipv4_mapped_words_as_dotted_quads(value: int) -> None:
    assert address(0, 0xFFFF << 32 | value, 4) == str(ipaddress.IPv4Address(value))


def test_address_columns() -> None:
    hi = np.array([0, 0x20010DB8 << 32], np.uint64)
    lo = np.array([0xFFFF_C000_0201, 1], np.uint64)
    assert addresses(hi, lo, np.array([4, 6], np.int64)) == ["192.0.2.1", "2001:db8::1"]
    with pytest.raises(ValueError, match="different lengths"):
        addresses(hi, lo[:1], np.array([4, 6], np.int64))


INT64 = st.integers(-(1 << 63), (1 << 63) - 1)


@given(st.lists(st.tuples(st.lists(INT64, min_size=12, max_size=12), st.integers(0, 255),
                          st.integers(0, 255), INT64), max_size=5),  # fmt: skip
       st.text(max_size=8))
def test_json_lines_parse_back(rows: list[tuple[list[int], int, int, int]], capture: str) -> None:
    ints = np.array([[*r[0], r[1], r[2], r[3]] for r in rows] or np.zeros((0, 15)), np.int64).T
    strings = tuple([f"{f}{i}" for i in range(len(rows))] for f in STR_FIELDS)
    strings = (*strings[:3], ["[]"] * len(rows), strings[4])
    text = json_lines(json.dumps(capture), np.ascontiguousarray(ints), strings)
    lines = text.splitlines()
    assert len(lines) == len(rows) and text.endswith("\n") == bool(rows)
    for i, line in enumerate(lines):
        got = json.loads(line)
        assert got["capture"] == capture and got["names"] == []
        for k, field in enumerate(INT_FIELDS):
            want = ints[k, i]
            want = TCP_FLAGS_TEXT[want] if field.startswith("tcp_flags") else int(want)
            assert got[field] == want
        assert (got["first"], got["last"]) == (seconds(int(ints[10, i])), seconds(int(ints[11, i])))
        assert [got[f] for f in STR_FIELDS if f != "names"] == [
            strings[k][i] for k in (0, 1, 2, 4)]  # fmt: skip


def test_json_lines_refuse_flags_that_are_not_a_byte() -> None:
    ints = np.zeros((15, 1), np.int64)
    ints[12, 0] = 256
    with pytest.raises(ValueError, match="not one byte"):
        json_lines('"c"', ints, (["a"], ["b"], ["eof"], ["[]"], ["syn"]))
