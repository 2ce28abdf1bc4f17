"""The ranges store under $RESIDENCY_HOME: every version of every source ever imported, kept by
the sha256 of its bytes with the source's own version token, and the compiled tables cached.

This is an edge module: it reads files and the clock; parsing and compiling stay pure.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from agent.errors import RangeFileError
from agent.files import open_input
from agent.intel.table import FORMAT, RangeTable

if TYPE_CHECKING:
    from agent.intel.records import RangeSet

STALE_AFTER = timedelta(days=30)
"""A provider or country version older than this, at the time it is used for, is stale."""
UNDATED_KINDS = ("sites",)
"""The operator's own sites file is not published on a schedule: it has no age limit."""


def home() -> Path:
    """$RESIDENCY_HOME, else the platform's user data directory."""
    env = os.environ.get("RESIDENCY_HOME")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("residency"))


@dataclass(frozen=True, slots=True)
class Stored:
    """One stored version of one source."""

    kind: str
    slot: str
    """What a newer version replaces: the kind, plus the cloud or file family where one kind has
    several (Azure public and US Government are both current at once)."""
    sha256: str
    version: str
    created: str
    """When the source says it was made ("" if it does not say)."""
    imported: str
    """When it was imported here."""
    name: str
    size: int

    @property
    def dated(self) -> datetime:
        """The date the version counts from: the source's own, else the import's."""
        when = datetime.fromisoformat(self.created or self.imported)
        return when if when.tzinfo else when.replace(tzinfo=UTC)  # the providers write UTC


def read_bytes(path: str) -> bytes:
    """A file's content, gunzipped when it is gzip (by content, not by name)."""
    with open_input(path) as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as err:
            raise RangeFileError(path, "", f"damaged gzip stream: {err}") from err
    return data


class Store:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root or home()
        self.objects = self.root / "ranges" / "objects"
        self.index_path = self.root / "ranges" / "index.json"
        self.cache = self.root / "cache"

    def versions(self) -> list[Stored]:
        if not self.index_path.exists():
            return []
        try:
            rows = json.loads(self.index_path.read_text())
            return [Stored(**row) for row in rows]
        except (ValueError, TypeError) as err:
            raise RangeFileError(
                str(self.index_path), "", f"store index is damaged: {err}"
            ) from err

    def add(self, data: bytes, name: str, now: datetime) -> tuple[Stored, bool]:
        """Validate and keep `data`; -> (its record, whether it was new). Nothing is written
        unless the whole file parsed."""
        from agent.intel.detect import detect_kind
        from agent.intel.parse import parse

        rs = parse(detect_kind(data, name), data, name)
        digest = hashlib.sha256(data).hexdigest()
        known = {v.sha256: v for v in self.versions()}
        if digest in known:
            return known[digest], False
        slot = slot_of(rs)
        rec = Stored(rs.kind, slot, digest, rs.version, rs.created, now.isoformat(),
                     Path(name).name, len(data))  # fmt: skip
        self.objects.mkdir(parents=True, exist_ok=True)
        _write_atomic(self.objects / digest, data)
        rows = [asdict(v) for v in known.values()] + [asdict(rec)]
        _write_atomic(self.index_path, json.dumps(rows, indent=1).encode())
        return rec, True

    def current(self, as_of: datetime | None = None) -> list[Stored]:
        """Per slot, the newest version (or the newest made by `as_of`)."""
        best: dict[str, Stored] = {}
        for v in self.versions():
            if as_of is not None and v.dated > as_of:
                continue
            if v.slot not in best or v.dated > best[v.slot].dated:
                best[v.slot] = v
        return sorted(best.values(), key=lambda v: v.slot)

    def in_force(self, at: datetime) -> list[Stored]:
        """Per slot, the version in force at `at` (`in_force`)."""
        return in_force(self.versions(), at)

    def load_sets(self, chosen: Iterable[Stored]) -> list[RangeSet]:
        """The versions parsed (the parsers are loaded only for this: the compiled table is
        usually cached)."""
        from agent.intel.parse import parse

        return [parse(v.kind, (self.objects / v.sha256).read_bytes(), v.name) for v in chosen]

    def table(self, chosen: Sequence[Stored]) -> RangeTable:
        """The compiled table for these versions, from the cache when it has it."""
        key = hashlib.sha256(f"{FORMAT}:{','.join(sorted(v.sha256 for v in chosen))}".encode())
        path = self.cache / f"table-{key.hexdigest()[:24]}.npz"
        table = RangeTable.load(path)
        if table is None:
            table = RangeTable.compile(self.load_sets(chosen))
            self.cache.mkdir(parents=True, exist_ok=True)
            table.save(path)
        return table


def slot_of(rs: RangeSet) -> str:
    return f"{rs.kind}:{rs.slot}" if rs.slot else rs.kind


def in_force(versions: Iterable[Stored], at: datetime) -> list[Stored]:
    """Per slot, the version in force at `at`: the newest dated on or before it; where every
    version of a slot is dated after it, the oldest of them (later than `at`: whoever uses it
    must say so)."""

    def rank(v: Stored) -> tuple[bool, float, str]:  # the least is in force
        t = v.dated.timestamp()
        return (v.dated > at, t if v.dated > at else -t, v.sha256)

    best: dict[str, Stored] = {}
    for v in versions:
        if v.slot not in best or rank(v) < rank(best[v.slot]):
            best[v.slot] = v
    return sorted(best.values(), key=lambda v: v.slot)


def stale(chosen: Iterable[Stored], now: datetime, max_age: timedelta = STALE_AFTER) -> str:
    """One warning naming every provider and country version older than `max_age` at `now`
    ("" when none is): the operator's own sites file has no age limit."""
    old = [f"{v.slot} {v.version} ({(now - v.dated).days} days)" for v in chosen
           if now - v.dated > max_age and v.kind not in UNDATED_KINDS]  # fmt: skip
    if not old:
        return ""
    return (f"range data older than {max_age.days} days at {now.date()}: {', '.join(old)}; "
            "run `residency ranges update` or import newer files")  # fmt: skip


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
