"""Finding a report's inputs by content in the folders a verifier names: captures, the policy and
range files by SHA-256 (range files also in the store, and gzipped or not), a journal by the
head it must still hold. A report names its inputs by file name and hash, never by path, so a
regulator can re-run it wherever the files are and whatever they are called.

An edge: it walks folders and reads files. Only files whose size could match are hashed.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.errors import JournalError
from agent.files import input_name
from agent.journal import Head, verify_journal

SQLITE_MAGIC = b"SQLite format 3\x00"
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(slots=True)
class Found:
    """Where each named input was found (path by sha256, or by journal head), and files that
    bear an input's name but not its content."""

    paths: dict[str, str] = field(default_factory=dict)
    """sha256 (or a journal's head as text) -> a path holding it."""
    impostors: dict[str, str] = field(default_factory=dict)
    """sha256 (or head) -> a path with the input's file name and other content (or, for a
    journal, a chain that does not hold the head), where none holds the input itself."""


def find(inputs: dict[str, Any], roots: Sequence[str], have: set[str]) -> Found:
    """Look in `roots` (recursively; folders whose names start with a dot are skipped) for the
    report's captures, policy, journals and the range versions not in `have` (the store's)."""
    sizes: dict[int, list[tuple[str, str]]] = {}
    for c in inputs["captures"]:
        sizes.setdefault(c["size"], []).append((c["sha256"], c["file"]))
    p = inputs["policy"]
    sizes.setdefault(len(p["text"].encode()), []).append((p["sha256"], p["file"]))
    ranges: dict[int, set[str]] = {}
    for r in inputs["ranges"]:
        if r["sha256"] not in have:
            ranges.setdefault(r["size"], set()).add(r["sha256"])
    heads = {j["file"]: j["head"] for j in inputs.get("journals", [])}
    names = {name: digest for pairs in sizes.values() for digest, name in pairs} | {
        file: head for file, head in heads.items()}  # fmt: skip
    found = Found()
    for path in _files(roots):
        try:
            _look(found, path, sizes, ranges, heads)
        except OSError:
            continue  # unreadable: not one of them, as far as anyone can tell
        digest = names.get(input_name(path))
        if digest is not None and digest not in found.paths:
            found.impostors.setdefault(digest, path)
    for digest in found.paths:
        found.impostors.pop(digest, None)
    return found


def _look(
    found: Found, path: str, sizes: dict[int, list[tuple[str, str]]],
    ranges: dict[int, set[str]], heads: dict[str, str],
) -> None:  # fmt: skip
    size = os.path.getsize(path)
    if size in sizes or size in ranges:
        _match(found, path, _sha256(path), size, sizes, ranges)
    with open(path, "rb") as f:
        magic = f.read(16)
    if magic[:2] == GZIP_MAGIC and size >= 18 and _gunzipped_size(path) in ranges:
        digest = _gunzipped_sha256(path)
        if digest in ranges[_gunzipped_size(path)]:
            found.paths.setdefault(digest, path)
    if magic == SQLITE_MAGIC and heads:
        _journal(found, path, heads)


def _match(
    found: Found, path: str, digest: str, size: int, sizes: dict[int, list[tuple[str, str]]],
    ranges: dict[int, set[str]],
) -> None:  # fmt: skip
    if any(d == digest for d, _ in sizes.get(size, [])) or digest in ranges.get(size, ()):
        found.paths.setdefault(digest, path)


def _journal(found: Found, path: str, heads: dict[str, str]) -> None:
    """A journal is the one whose chain still holds the head the report recorded."""
    for text in heads.values():
        if text in found.paths:
            continue
        try:
            check = verify_journal(path, [Head.parse(text)])
        except (JournalError, ValueError):
            continue
        if check.ok and check.first_seq <= Head.parse(text).seq:
            found.paths[text] = path


def _files(roots: Sequence[str]) -> Iterator[str]:
    seen: set[str] = set()
    for root in roots:
        for top, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                path = os.path.join(top, name)
                real = os.path.realpath(path)
                if real not in seen and os.path.isfile(real):
                    seen.add(real)
                    yield path


def _sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _gunzipped_size(path: str) -> int:
    """The size a gzip file says its content has (its last four bytes, modulo 2**32)."""
    with open(path, "rb") as f:
        f.seek(-4, os.SEEK_END)
        size: int = struct.unpack("<I", f.read(4))[0]
        return size


def _gunzipped_sha256(path: str) -> str:
    try:
        with gzip.open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except (OSError, EOFError):
        return ""
