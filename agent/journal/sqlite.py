"""Opening the journal's SQLite file: the checks before trusting it, the schema, and the one
place where SQLite's and the OS's reasons become `JournalError` lines naming the path.

Settings, and why:
- WAL: readers (`journal verify`, `flows --journal`) never block the daemon's writer, and a
  commit is one append to the WAL file, so a `kill -9` at any moment leaves either the whole
  batch or none of it.
- `synchronous=FULL`: each commit is fsynced, so a batch that `append` returned survives a power
  cut too, not only a killed process (NORMAL would keep the file consistent but could lose the
  last commits, i.e. silently cut the tail of the evidence). It costs one fsync per batch, which
  batching makes small (see bench/bench_journal.py).
- `auto_vacuum=INCREMENTAL`: retention gives the freed pages back to the file system.
- `STRICT` table: a column holds the type the chain hashes, or the write fails.
- The file is created 0600 (SQLite gives its -wal and -shm files the same mode): it holds
  process names, users and command lines.
"""

from __future__ import annotations

import os
import sqlite3

from agent.errors import JournalError

APPLICATION_ID = 0x52534A4C  # "RSJL" in the file header: tells a journal from other SQLite files
SCHEMA = 1
BUSY_MS = 10_000

CREATE = """
CREATE TABLE entries (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    ts_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    body TEXT NOT NULL,
    hash BLOB NOT NULL
) STRICT;
CREATE INDEX entries_kind_end ON entries (kind, end_ns);
"""

REASONS = {
    "SQLITE_FULL": "the disk (or the journal's size limit) is full; nothing of this batch was kept",
    "SQLITE_READONLY": "read-only (no write permission, or a read-only file system)",
    "SQLITE_PERM": "permission denied",
    "SQLITE_CANTOPEN": "cannot open the file (permission denied or no such directory)",
    "SQLITE_NOTADB": "not a SQLite database",
    "SQLITE_CORRUPT": "the database file is damaged",
    "SQLITE_BUSY": "locked by another process for too long",
    "SQLITE_LOCKED": "locked by another process for too long",
}


def failure(path: str, doing: str, err: sqlite3.Error) -> JournalError:
    """One line: the path, what was being done, and SQLite's reason in words."""
    name = getattr(err, "sqlite_errorname", "") or ""
    base = "_".join(name.split("_")[:2])  # SQLITE_IOERR_WRITE -> SQLITE_IOERR
    if base == "SQLITE_IOERR":
        reason = f"I/O error ({name}): {err}"
    elif base in ("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM"):
        reason = os_reason(path) or REASONS[base]
    else:
        reason = REASONS.get(base, str(err))
    return JournalError(f"{path}: {doing}: {reason}")


def os_reason(path: str) -> str | None:
    """Why SQLite could not open or write: it does not say, but the file system can."""
    folder = os.path.dirname(path) or "."
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return "read-only file system"
    except OSError as err:
        return f"{folder}: {err.strerror}"
    writable = os.access(folder, os.W_OK | os.X_OK) and os.access(path, os.R_OK | os.W_OK)
    return None if writable else "permission denied (the file and its directory must be writable)"


def connect(path: str, create: bool, max_bytes: int | None) -> sqlite3.Connection:
    """Open `path` as a journal, creating it (and its directory) if `create`; JournalError if
    it is not one. `max_bytes` caps the database file: past it, appends fail as on a full disk."""
    precheck(path, create)
    try:
        db = sqlite3.connect(path, isolation_level=None)
    except sqlite3.Error as err:
        raise failure(path, "cannot open", err) from err
    try:
        db.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
        prepare(db, path, create)
        db.execute("PRAGMA synchronous = FULL")
        if max_bytes is not None:
            page = db.execute("PRAGMA page_size").fetchone()[0]
            db.execute(f"PRAGMA max_page_count = {max(1, max_bytes // page)}")
    except sqlite3.Error as err:
        db.close()
        raise failure(path, "cannot open", err) from err
    except BaseException:
        db.close()
        raise
    return db


def precheck(path: str, create: bool) -> None:
    """The OS's answers, in words, before SQLite's vaguer 'unable to open database file'."""
    if os.path.isdir(path):
        raise JournalError(f"{path}: is a directory, not a journal file")
    if os.path.exists(path):
        return
    if not create:
        raise JournalError(f"{path}: no such journal")
    try:
        os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass  # another writer created it meanwhile
    except OSError as err:
        raise JournalError(f"{path}: cannot create the journal: {err.strerror}") from err


def prepare(db: sqlite3.Connection, path: str, create: bool) -> None:
    """Check what the file is; give an empty one the schema (in one transaction, so a kill
    part-way leaves an empty file that the next open prepares again)."""
    app, version = header(db)
    if app == APPLICATION_ID:
        if version > SCHEMA:
            raise JournalError(f"{path}: journal schema {version} is newer than this residency's")
        return
    empty = app == 0 and version == 0 and not db.execute("SELECT 1 FROM sqlite_master").fetchone()
    if not empty:
        raise JournalError(f"{path}: a SQLite database, but not a residency journal")
    if not create:
        raise JournalError(f"{path}: an empty file, not a residency journal")
    db.execute("PRAGMA auto_vacuum = INCREMENTAL")  # only takes effect before the first table
    if db.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":
        raise JournalError(f"{path}: cannot switch to WAL mode")
    db.execute("BEGIN IMMEDIATE")
    try:
        if header(db) == (0, 0):  # not prepared by another writer meanwhile
            create_schema(db)
        db.execute("COMMIT")
    finally:
        if db.in_transaction:
            db.execute("ROLLBACK")


def create_schema(db: sqlite3.Connection) -> None:
    for statement in filter(str.strip, CREATE.split(";")):
        db.execute(statement)
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute(f"PRAGMA user_version = {SCHEMA}")


def header(db: sqlite3.Connection) -> tuple[int, int]:
    app = db.execute("PRAGMA application_id").fetchone()[0]
    return int(app), int(db.execute("PRAGMA user_version").fetchone()[0])
