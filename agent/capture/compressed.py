"""Compressed captures, seen through by content, not by name: gzip (tcpdump -z, Wireshark's
.pcapng.gz), xz and zstd (rotated archives). One table: a magic, the format's name, its reader."""

from __future__ import annotations

import gzip
import lzma
import sys
import zlib
from collections.abc import Callable
from typing import BinaryIO, cast

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

FORMATS: tuple[tuple[bytes, str, type, Callable[[BinaryIO], BinaryIO]], ...] = (
    (b"\x1f\x8b", "gzip", gzip.GzipFile,
     lambda raw: cast(BinaryIO, gzip.GzipFile(fileobj=raw, mode="rb"))),
    (b"\xfd7zXZ", "xz", lzma.LZMAFile, lambda raw: cast(BinaryIO, lzma.LZMAFile(raw))),
    (b"\x28\xb5\x2f\xfd", "zstd", zstd.ZstdFile, lambda raw: cast(BinaryIO, zstd.ZstdFile(raw))),
)  # fmt: skip
DAMAGE = (OSError, EOFError, zlib.error, lzma.LZMAError, zstd.ZstdError)
"""What a damaged compressed stream raises while it is read."""


def decompressed(raw: BinaryIO, head: bytes) -> tuple[BinaryIO, str]:
    """The stream to read the capture from, and the compression it was under ("" for none);
    `head` is the stream's first bytes, peeked."""
    for magic, name, _, reader in FORMATS:
        if head.startswith(magic):
            return reader(raw), name
    return raw, ""


def compression_of(stream: BinaryIO) -> str:
    """The compression a stream from `decompressed` reads through ("" for none)."""
    return next((name for _, name, kind, _ in FORMATS if isinstance(stream, kind)), "")
