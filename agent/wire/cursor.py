"""One bounded cursor for every parser of hostile bytes (names on the wire: DNS, TLS, HTTP, QUIC).

Every read checks its length first, so a parser can only fail in two named ways: `Truncated`
(the bytes stop before the structure does: give me more) or `DecodeError` (the bytes are not
what they claim to be). Offsets in errors are positions in the buffer the top cursor was made on.
"""

from __future__ import annotations

import builtins

from agent.errors import ResidencyError


class DecodeError(ResidencyError):
    """Bytes that do not decode as the protocol they claim to be."""

    def __init__(self, layer: str, offset: int, reason: str) -> None:
        self.layer, self.offset, self.reason = layer, offset, reason
        super().__init__(f"{layer}: offset {offset}: {reason}")


class Truncated(DecodeError):
    """The bytes end before the structure does: more data may complete it."""


class Cursor:
    """A read position inside `[start, end)` of a buffer; no read ever goes past `end`.

    A sub-cursor made by `restrict_to(n)` is a length-prefixed block: running out inside it is a
    `DecodeError` (the length lied), not `Truncated`, because the whole block was already there.
    """

    __slots__ = ("_buf", "_pos", "_end", "layer", "_inner")

    def __init__(
        self,
        data: bytes | bytearray | memoryview,
        layer: str = "bytes",
        start: int = 0,
        end: int | None = None,
        *,
        _inner: bool = False,
    ) -> None:
        self._buf = memoryview(data).cast("B") if not isinstance(data, bytes) else data
        size = len(self._buf)
        self._end = size if end is None else end
        if not 0 <= start <= self._end <= size:
            raise ValueError(f"cursor bounds {start}..{self._end} outside 0..{size}")
        self._pos = start
        self.layer = layer
        self._inner = _inner

    @property
    def offset(self) -> int:
        """Position of the next byte, in the coordinates of the whole buffer."""
        return self._pos

    @property
    def remaining(self) -> int:
        return self._end - self._pos

    def error(self, reason: str, offset: int | None = None) -> DecodeError:
        """A `DecodeError` for this layer, at the current position unless told."""
        return DecodeError(self.layer, self._pos if offset is None else offset, reason)

    def _need(self, n: int, what: str) -> int:
        if n < 0:
            raise self.error(f"negative length {n} for {what}")
        pos = self._pos
        if self._end - pos < n:
            short = f"{what}: need {n} bytes, {self._end - pos} left"
            if self._inner:
                raise self.error(f"block too short: {short}")
            raise Truncated(self.layer, pos, short)
        self._pos = pos + n
        return pos

    def u8(self, what: str = "u8") -> int:
        pos = self._need(1, what)
        return self._buf[pos]

    def u16(self, what: str = "u16") -> int:
        pos = self._need(2, what)
        b = self._buf
        return (b[pos] << 8) | b[pos + 1]

    def u24(self, what: str = "u24") -> int:
        pos = self._need(3, what)
        b = self._buf
        return (b[pos] << 16) | (b[pos + 1] << 8) | b[pos + 2]

    def u32(self, what: str = "u32") -> int:
        pos = self._need(4, what)
        return int.from_bytes(self._buf[pos : pos + 4], "big")

    def varint(self, what: str = "varint") -> int:
        """A QUIC variable-length integer (RFC 9000 section 16): 1, 2, 4 or 8 bytes."""
        first = self._buf[self._need(1, what)]
        n = 1 << (first >> 6)
        value = first & 0x3F
        if n > 1:
            pos = self._need(n - 1, what)
            value = (value << (8 * (n - 1))) | int.from_bytes(self._buf[pos : pos + n - 1], "big")
        return value

    def bytes(self, n: int, what: str = "bytes") -> bytes:
        pos = self._need(n, what)
        return bytes(self._buf[pos : pos + n])

    def skip(self, n: int, what: str = "skip") -> None:
        self._need(n, what)

    def restrict_to(self, n: int, what: str = "block") -> Cursor:
        """The next `n` bytes as their own cursor; this cursor moves past them."""
        pos = self._need(n, what)
        return Cursor(self._buf, self.layer, pos, pos + n, _inner=True)

    def block(self, start: int, n: int, what: str = "block") -> Cursor:
        """The `n` bytes at `start` (already known to be there) as a length-prefixed block."""
        if not 0 <= start <= start + n <= self._end:
            raise self.error(f"{what} of {n} bytes at {start} outside the buffer")
        return Cursor(self._buf, self.layer, start, start + n, _inner=True)

    def at(self, offset: int) -> Cursor:
        """A new cursor at `offset` of the same buffer and bounds (DNS compression pointers)."""
        if not 0 <= offset <= self._end:
            raise self.error(f"offset {offset} outside the buffer")
        return Cursor(self._buf, self.layer, offset, self._end, _inner=self._inner)

    def rest(self) -> builtins.bytes:
        """Everything left, consumed."""
        return self.bytes(self.remaining, "rest")

    def done(self) -> bool:
        return self._pos >= self._end

    def expect_end(self, what: str = "block") -> None:
        """A block must be used exactly: bytes left over mean the lengths disagree."""
        if self._pos != self._end:
            raise self.error(f"{self._end - self._pos} unexpected bytes after {what}")
