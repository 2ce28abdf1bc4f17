"""Integer reads for the compiled decoders. Callers check bounds first: numba does not."""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

Buf = Any
"""A 1-D uint8 array."""
Int = Any
"""A machine integer inside compiled code: numba infers its width, which mypy cannot see."""


@njit(cache=True, inline="always")
def u16be(buf: Buf, pos: int) -> Int:
    return (np.int64(buf[pos]) << 8) | np.int64(buf[pos + 1])


@njit(cache=True, inline="always")
def u32be(buf: Buf, pos: int) -> Int:
    return (u16be(buf, pos) << 16) | u16be(buf, pos + 2)


@njit(cache=True, inline="always")
def u64be(buf: Buf, pos: int) -> np.uint64:
    return (np.uint64(u32be(buf, pos)) << np.uint64(32)) | np.uint64(u32be(buf, pos + 4))


@njit(cache=True, inline="always")
def u16le(buf: Buf, pos: int) -> Int:
    return np.int64(buf[pos]) | (np.int64(buf[pos + 1]) << 8)


@njit(cache=True, inline="always")
def u32le(buf: Buf, pos: int) -> Int:
    return u16le(buf, pos) | (u16le(buf, pos + 2) << 16)


@njit(cache=True, inline="always")
def u16(buf: Buf, pos: int, big: bool) -> Int:
    return u16be(buf, pos) if big else u16le(buf, pos)


@njit(cache=True, inline="always")
def u32(buf: Buf, pos: int, big: bool) -> Int:
    return u32be(buf, pos) if big else u32le(buf, pos)
