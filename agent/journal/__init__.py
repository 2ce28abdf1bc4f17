"""The host daemon's durable journal: flows and verdicts, heartbeats and the inputs in force,
in one hash-chained SQLite table, so that deleting or editing a row shows.

    chain.py    what a row is and how the chain is hashed and checked (pure)
    kinds.py    typed rows: flows, heartbeats, inputs, start/stop; `unwatched` periods
    sqlite.py   opening the file: checks, schema, SQLite settings, errors as `JournalError`
    store.py    `Journal`: append in batches, query by time, verify, prune

What the chain proves, and what it does not:
- An edited, deleted, inserted or reordered row breaks the chain at that row, unless everything
  after it is rewritten too: the chain has no secret, so anyone who can write the file can
  rebuild it. Copy a `Head` (`seq:hash`) out of the host (into a signed report, a remote log)
  and `verify(known=[head])` proves nothing up to it changed since.
- Rows cut from the end leave a shorter chain that is still valid. What shows it: a clean
  shutdown writes `stop` last (`Verification.ended_with_stop`); a restart after a crash or a
  cut writes `start` with no `stop` before it; heartbeats make the silence visible as an
  `unwatched` period up to the time of the report; and a known head past the end fails.
"""

from agent.journal.chain import Entry, Head, StoredRow, Verification
from agent.journal.kinds import (
    Heartbeat,
    InputsRow,
    JournalFlow,
    flow_entry,
    heartbeat_entry,
    inputs_entry,
    start_entry,
    stop_entry,
    unwatched,
)
from agent.journal.store import Journal

__all__ = [
    "Entry",
    "Head",
    "Heartbeat",
    "InputsRow",
    "Journal",
    "JournalFlow",
    "StoredRow",
    "Verification",
    "flow_entry",
    "heartbeat_entry",
    "inputs_entry",
    "start_entry",
    "stop_entry",
    "unwatched",
    "verify_journal",
]


def verify_journal(path: str, known: list[Head] | None = None) -> Verification:
    """`residency journal verify PATH`: open an existing journal, verify it, close it."""
    with Journal.open(path) as journal:
        return journal.verify(known or ())
