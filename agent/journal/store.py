"""The journal: one append-only, hash-chained SQLite table of what the agent saw and decided.

Writes are whole batches: `append` commits every row or none and raises `JournalError` (with
the path) when the disk is full or the file cannot be written, so the daemon keeps its rows in
memory and calls again later. The chain continues from the last committed row, which is read
inside each write transaction: after a `kill -9`, a new writer (or `prune` from another
process) simply carries on.

Retention deletes a prefix of rows and appends an `anchor` recording where the cut is, the hash
of the row before it, and the `inputs` then in force, so `verify` still checks the rest and
every flow left keeps its policy. Nothing here reads a clock: times are passed in.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from types import TracebackType
from typing import Any

from agent.errors import JournalError
from agent.journal.chain import (
    GENESIS,
    Entry,
    Head,
    RawRow,
    StoredRow,
    Verification,
    canonical_body,
    check_chain,
    row_hash,
)
from agent.journal.kinds import (
    ANCHOR,
    FLOW,
    HEARTBEAT,
    INPUTS,
    Heartbeat,
    InputsRow,
    JournalFlow,
    read_flow,
    read_heartbeat,
    read_inputs,
)
from agent.journal.sqlite import connect, failure

EARLIEST, LATEST = -(2**63), 2**63 - 1
DAY_NS = 86_400 * 1_000_000_000
COLUMNS = "seq, kind, ts_ns, end_ns, body"


class Journal:
    """An open journal file. Not thread-safe: one thread owns it (readers open their own)."""

    def __init__(self, db: sqlite3.Connection, path: str) -> None:
        self._db, self.path = db, path

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], create: bool = False, max_bytes: int | None = None
    ) -> Journal:
        """Open a journal; the daemon passes `create` to make it (and its directory) if missing.
        `max_bytes` caps the file: past it `append` fails as on a full disk, until `prune`."""
        name = os.fspath(path)
        return cls(connect(name, create, max_bytes), name)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def head(self, at: int | None = None) -> Head:
        """The last committed row (`0:000…` for a new journal); with `at`, the last row at or
        before seq `at`: where a part of the journal was cut from."""
        with self._transaction("cannot read", "DEFERRED") as db:
            seq, prev = _head(db, LATEST if at is None else at)
        return Head(seq, prev.hex())

    def append(self, entries: Sequence[Entry]) -> int:
        """Commit `entries` in one transaction, chained after the last row; the last seq.
        On `JournalError` nothing was written: keep the rows and call again later."""
        bodies = [canonical_body(e.body) for e in entries]  # a bad value fails before writing
        with self._transaction("cannot append") as db:
            seq, prev = _head(db)
            _insert(db, seq, prev, entries, bodies)
        return seq + len(entries)

    def entries(
        self, kind: str, since_ns: int | None = None, until_ns: int | None = None
    ) -> Iterator[StoredRow]:
        """Rows of `kind` overlapping [since_ns, until_ns) (their ts_ns..end_ns span), by time."""
        sql = (
            f"SELECT {COLUMNS} FROM entries WHERE kind = ? AND end_ns >= ? AND ts_ns < ?"
            " ORDER BY ts_ns, seq"
        )
        args = (
            kind,
            EARLIEST if since_ns is None else since_ns,
            LATEST if until_ns is None else until_ns,
        )
        try:
            for seq, k, ts_ns, end_ns, body in self._db.execute(sql, args):
                yield StoredRow(seq, k, ts_ns, end_ns, json.loads(body))
        except sqlite3.Error as err:
            raise failure(self.path, "cannot read", err) from err

    def flows(
        self, since_ns: int | None = None, until_ns: int | None = None
    ) -> Iterator[JournalFlow]:
        """Flows whose capture times overlap [since_ns, until_ns), by first packet."""
        return map(read_flow, self.entries(FLOW, since_ns, until_ns))

    def heartbeats(
        self, since_ns: int | None = None, until_ns: int | None = None
    ) -> Iterator[Heartbeat]:
        return map(read_heartbeat, self.entries(HEARTBEAT, since_ns, until_ns))

    def days(self, kind: str, until_seq: int = LATEST) -> list[tuple[int, int]]:
        """The distinct (first, last) UTC days, as day numbers since the epoch, that rows of
        `kind` up to seq `until_seq` span: which days hold rows, in one pass of SQLite's that
        decodes no row."""
        sql = ("SELECT DISTINCT ts_ns / ?, max(end_ns - 1, ts_ns) / ? FROM entries"
               " WHERE kind = ? AND seq <= ?")  # fmt: skip
        try:
            return sorted(self._db.execute(sql, (DAY_NS, DAY_NS, kind, until_seq)))
        except sqlite3.Error as err:
            raise failure(self.path, "cannot read", err) from err

    def last_end(self, kind: str, until_seq: int = LATEST) -> int | None:
        """The latest end time of rows of `kind` up to seq `until_seq` (None: there are none)."""
        sql = "SELECT max(end_ns) FROM entries WHERE kind = ? AND seq <= ?"
        try:
            found = self._db.execute(sql, (kind, until_seq)).fetchone()[0]
        except sqlite3.Error as err:
            raise failure(self.path, "cannot read", err) from err
        return None if found is None else int(found)

    def inputs_at(self, seq: int) -> InputsRow | None:
        """The policy and range versions in force when row `seq` was written."""
        with self._transaction("cannot read", "DEFERRED") as db:
            found = _inputs_before(db, seq + 1)
        return None if found is None else read_inputs(**found)

    def verify(self, known: Iterable[Head] = ()) -> Verification:
        """Check the whole chain in one consistent snapshot (the daemon may keep writing). Pass
        heads copied out earlier to detect rewriting or a cut tail up to them."""
        with self._transaction("cannot verify", "DEFERRED") as db:
            start = _start(db)
            if isinstance(start, Verification):
                return start
            with closing(_chain(db, LATEST)) as rows:
                return check_chain(rows, *start, known)

    def prune(self, before_ns: int) -> int:
        """Delete the oldest rows, up to the first one that ends at or after `before_ns` (rows
        are kept in seq order, so a late row with an old time is kept too); how many were
        deleted. Refuses if the rows to delete do not verify: retention must not hide tampering."""
        with self._transaction("cannot prune") as db:
            seq, prev = _head(db)
            start = _start(db)
            found = db.execute("SELECT min(seq) FROM entries WHERE end_ns >= ?", (before_ns,))
            cut = found.fetchone()[0] or seq + 1
            if isinstance(start, Verification):
                raise _refusal(self.path, start)
            if cut <= start[0]:
                return 0
            with closing(_chain(db, cut)) as rows:
                check = check_chain(rows, *start)
            if not check.ok:
                raise _refusal(self.path, check)
            anchor = {
                "cut": cut,
                "prev": check.head,
                "before_ns": before_ns,
                "deleted": check.rows,
                "inputs": _inputs_before(db, cut),
            }
            db.execute("DELETE FROM entries WHERE seq < ?", (cut,))
            _insert(db, seq, prev, [Entry(ANCHOR, before_ns, anchor)], [canonical_body(anchor)])
        with suppress(sqlite3.Error):
            self._db.execute("PRAGMA incremental_vacuum")  # give the pages back; harmless if not
        return check.rows

    @contextmanager
    def _transaction(self, doing: str, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
        db = self._db
        try:
            db.execute(f"BEGIN {mode}")
            try:
                yield db
                db.execute("COMMIT")
            finally:
                if db.in_transaction:
                    with suppress(sqlite3.Error):
                        db.execute("ROLLBACK")
        except sqlite3.Error as err:
            raise failure(self.path, doing, err) from err


def _head(db: sqlite3.Connection, at: int = LATEST) -> tuple[int, bytes]:
    query = "SELECT seq, hash FROM entries WHERE seq <= ? ORDER BY seq DESC LIMIT 1"
    row = db.execute(query, (at,)).fetchone()
    return (0, GENESIS) if row is None else (int(row[0]), bytes(row[1]))


def _insert(
    db: sqlite3.Connection, seq: int, prev: bytes, entries: Sequence[Entry], bodies: Sequence[str]
) -> None:
    rows: list[tuple[int, str, int, int, str, bytes]] = []
    for entry, body in zip(entries, bodies, strict=True):
        seq += 1
        prev = row_hash(prev, seq, entry.kind.encode(), entry.ts_ns, entry.end, body.encode())
        rows.append((seq, entry.kind, entry.ts_ns, entry.end, body, prev))
    db.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?)", rows)


def _chain(db: sqlite3.Connection, cut: int) -> Generator[RawRow, None, None]:
    """Rows before `cut` in seq order, text as stored bytes (see `RawRow`)."""
    cursor = db.cursor()
    db.text_factory = bytes
    try:
        query = (
            "SELECT seq, kind, ts_ns, end_ns, body, hash FROM entries WHERE seq < ? ORDER BY seq"
        )
        yield from cursor.execute(query, (cut,))
    finally:
        db.text_factory = str
        cursor.close()


def _start(db: sqlite3.Connection) -> tuple[int, bytes] | Verification:
    """Where the chain starts: row 1 after GENESIS, or the newest anchor's cut after the hash it
    recorded. The anchor's own hash is checked when the chain reaches it."""
    row = db.execute(
        "SELECT seq, CAST(body AS BLOB) FROM entries WHERE kind = ? ORDER BY seq DESC LIMIT 1",
        (ANCHOR,),
    ).fetchone()
    if row is None:
        return 1, GENESIS
    try:
        body = json.loads(row[1])
        return int(body["cut"]), bytes.fromhex(body["prev"])
    except (KeyError, TypeError, ValueError):
        return Verification(False, 0, 0, 0, "", False, int(row[0]), "anchor row is unreadable")


def _inputs_before(db: sqlite3.Connection, seq: int) -> dict[str, Any] | None:
    """The last `inputs` row before `seq` as `read_inputs` arguments; if retention deleted it,
    the one the newest anchor carried over the cut."""
    query = (
        "SELECT seq, ts_ns, body FROM entries WHERE kind = ? AND seq < ? ORDER BY seq DESC LIMIT 1"
    )
    row = db.execute(query, (INPUTS, seq)).fetchone()
    if row is not None:
        return {"seq": row[0], "ts_ns": row[1], "body": json.loads(row[2])}
    anchor = db.execute(query, (ANCHOR, LATEST)).fetchone()
    carried = json.loads(anchor[2]).get("inputs") if anchor is not None else None
    return carried if isinstance(carried, dict) else None


def _refusal(path: str, check: Verification) -> JournalError:
    return JournalError(f"{path}: will not prune a journal that fails verification: {check}")
