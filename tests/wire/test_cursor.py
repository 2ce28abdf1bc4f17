"""The bounded cursor: every read checks its length; blocks must be used exactly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.errors import ResidencyError
from agent.wire.cursor import Cursor, DecodeError, Truncated


def test_reads_big_endian_and_tracks_offset() -> None:
    c = Cursor(b"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b", "t")
    assert (c.u8(), c.u16(), c.u24(), c.u32()) == (1, 0x0203, 0x040506, 0x0708090A)
    assert c.offset == 10 and c.remaining == 1 and not c.done()
    assert c.bytes(1) == b"\x0b" and c.done()
    c.expect_end()


def test_short_reads_are_truncated_with_offset() -> None:
    c = Cursor(b"\x00\x01\x02", "t")
    c.u8()
    with pytest.raises(Truncated) as err:
        c.u32("field")
    assert (err.value.layer, err.value.offset) == ("t", 1) and "field" in err.value.reason
    assert c.offset == 1  # a failed read moves nothing
    assert isinstance(err.value, DecodeError) and isinstance(err.value, ResidencyError)


def test_restrict_to_is_a_block_that_must_be_used_exactly() -> None:
    c = Cursor(b"\x00\x03abcZ", "t")
    block = c.restrict_to(c.u16())
    assert c.bytes(1) == b"Z"
    assert block.offset == 2 and block.bytes(2) == b"ab"
    with pytest.raises(DecodeError, match="1 unexpected bytes"):
        block.expect_end("blk")
    with pytest.raises(DecodeError, match="block too short") as err:
        block.u16()
    assert not isinstance(err.value, Truncated)  # the length prefix lied: not "need more"
    with pytest.raises(Truncated):
        Cursor(b"\x00\x05ab").restrict_to(5)


def test_varint_and_at_and_negative() -> None:
    c = Cursor(bytes.fromhex("25 7bbd 9d7f3e7d c2197c5eff14e88c"))
    assert [c.varint() for _ in range(4)] == [37, 15293, 494878333, 151288809941952652]
    with pytest.raises(Truncated):
        Cursor(b"\x40").varint()
    c = Cursor(b"abc")
    assert c.at(1).bytes(2) == b"bc"
    with pytest.raises(DecodeError):
        c.at(4)
    with pytest.raises(DecodeError, match="negative"):
        c.bytes(-1)
    assert Cursor(memoryview(b"xy")[1:]).rest() == b"y"


@given(st.binary(max_size=64), st.lists(st.sampled_from(["u8", "u16", "u24", "u32", "varint"])))
def test_reads_never_pass_the_end(data: bytes, ops: list[str]) -> None:
    c = Cursor(data)
    for op in ops:
        try:
            getattr(c, op)()
        except Truncated:
            pass
        assert 0 <= c.offset <= len(data)
