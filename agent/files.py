"""Opening a user's file: the one place where the OS's reasons become `InputError` lines."""

from __future__ import annotations

import hashlib
import os
from io import BufferedReader

from agent.errors import InputError


def open_input(path: str) -> BufferedReader:
    """Open `path` for reading, buffered; a missing file, a directory or no permission is one
    clear line naming the file."""
    try:
        return open(path, "rb")  # noqa: SIM115 - the caller closes it
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
    with open_input(path) as f:
        digest = hashlib.file_digest(f, "sha256").hexdigest()
        return digest, os.fstat(f.fileno()).st_size
