"""Opening a user's file: the one place where the OS's reasons become `InputError` lines."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from functools import lru_cache, wraps
from io import BufferedReader
from typing import TypeVar

from agent.errors import InputError

T = TypeVar("T")

REST_BYTES = 1 << 20
"""The reads that hash what a reader left of a file."""


class Digest:
    """A file's sha256, fed by `open_input(path, digest)` with every byte read from the file,
    in order, once (bytes read ahead into a buffer too): an analysis hashes a capture as it
    reads it, not in a read of its own; `of` hashes what the reader left."""

    def __init__(self) -> None:
        self.sha = hashlib.sha256()
        self.size = 0
        """Bytes hashed so far: the file's first `size` bytes."""

    def update(self, data: memoryview) -> None:
        self.sha.update(data)  # hashlib lets go of the GIL for more than 2 KiB
        self.size += len(data)

    def of(self, path: str) -> tuple[str, int]:
        """The sha256 and size of the whole file, reading and hashing what is left of it."""
        with open_input(path) as f:
            f.seek(self.size)
            while chunk := f.read(REST_BYTES):
                self.update(memoryview(chunk))
        return self.sha.hexdigest(), self.size


class _Hashed(io.RawIOBase):
    """A file whose reads feed a `Digest`."""

    def __init__(self, file: io.FileIO, digest: Digest) -> None:
        self.file, self.digest = file, digest

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        n = self.file.readinto(b)
        if n:
            self.digest.update(memoryview(b)[:n])
        return n or 0

    def fileno(self) -> int:
        return self.file.fileno()

    def close(self) -> None:
        self.file.close()
        super().close()


def open_input(path: str, digest: Digest | None = None) -> BufferedReader:
    """Open `path` for reading, buffered; a missing file, a directory or no permission is one
    clear line naming the file. With `digest`, what is read is hashed into it."""
    try:
        if digest is None:
            return open(path, "rb")  # noqa: SIM115 - the caller closes it
        return BufferedReader(_Hashed(io.FileIO(path, "r"), digest))
    except FileNotFoundError as err:
        raise InputError(f"{path}: no such file") from err
    except IsADirectoryError as err:
        raise InputError(f"{path}: is a directory, not a file") from err
    except PermissionError as err:
        raise InputError(f"{path}: permission denied") from err
    except OSError as err:
        raise InputError(f"{path}: cannot open: {err.strerror}") from err


def input_name(path: str) -> str:
    """The name an input goes by in documents and reports: its file name, symbolic links
    followed, so `./x`, `x`, `/abs/x` and a link to x are one input; never the path as typed."""
    return os.path.basename(os.path.realpath(path))


def file_size(path: str) -> int:
    """A file's size, with the same one-line errors as opening it."""
    if path == "-":
        raise InputError("-: standard input cannot be read with other captures")
    with open_input(path) as f:
        return os.fstat(f.fileno()).st_size


def file_sha256(path: str) -> tuple[str, int]:
    """A file's sha256 and size: an analysis names its captures by them, so a re-run can prove
    it read the same bytes."""
    if path == "-":
        raise InputError("-: standard input cannot be analysed: its hash must be known")
    return Digest().of(path)


def while_unchanged(fn: Callable[[str], T]) -> Callable[[str], T]:
    """`fn(path)`, worked out once while the file stands as it was (the same inode, size,
    modification and change times): a command asks several things of a capture before it
    reads it (what it is, when it begins), some of them twice."""
    cached = lru_cache(maxsize=256)(lambda path, *_stat: fn(path))

    @wraps(fn)
    def of(path: str) -> T:
        try:
            st = os.stat(path)
        except OSError:  # `-`, or not a file to read: fn says what it says of that
            return fn(path)
        return cached(path, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    return of
