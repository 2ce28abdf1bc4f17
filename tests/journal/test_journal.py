"""The journal on real SQLite files: round trips, the chain against tampering, retention,
`kill -9` at random moments, and the errors a daemon must survive (full disk, bad paths)."""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from agent.errors import JournalError
from agent.journal import (
    Entry,
    Head,
    Heartbeat,
    Journal,
    flow_entry,
    heartbeat_entry,
    inputs_entry,
    start_entry,
    stop_entry,
    unwatched,
    verify_journal,
)
from agent.journal.chain import row_hash
from agent.model import Flow, Process

ROOT = Path(__file__).resolve().parents[2]
S = 1_000_000_000


def flow(first_s: int, last_s: int, serial: int = 0) -> Flow:
    names = (("sni", "example.com"), ("dns", "é.example"))
    return Flow(proto=6, src="10.0.0.1", sport=40000 + serial, dst="192.0.2.7", dport=443,
                depth=0, packets_fwd=3, bytes_fwd=180, frame_bytes_fwd=222, packets_rev=2,
                bytes_rev=120, frame_bytes_rev=148, first_ns=first_s * S, last_ns=last_s * S,
                tcp_flags_fwd=0x1B, tcp_flags_rev=0x12, end="eof", serial=serial,
                names=names)  # fmt: skip


def flows(n: int, start_s: int = 0) -> list[Entry]:
    return [
        flow_entry(flow(start_s + i, start_s + i + 1, i), {"decision": "allow"}) for i in range(n)
    ]


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal.open(tmp_path / "j" / "journal.db", create=True) as j:
        yield j


def filled(journal: Journal, n: int = 10) -> Journal:
    """Rows 1..n+2: start, n flows at seconds 0..n-1, stop."""
    journal.append([start_entry(0, {"version": "test"})])
    journal.append(flows(n))
    journal.append([stop_entry(n * S, "test")])
    return journal


def sql(journal: Journal, *statements: str) -> list[tuple[object, ...]]:
    """Run statements on the file behind the journal's back; the last one's rows."""
    with closing(sqlite3.connect(journal.path, isolation_level=None)) as db:
        return [db.execute(s).fetchall() for s in statements][-1]


# --- round trips ---------------------------------------------------------------------------


def test_flow_verdict_and_process_round_trip(journal: Journal) -> None:
    proc = Process(412, "curl", "/usr/bin/curl", "alice", ("curl", "-s", "https://x"), 5 * S)
    verdict = {"decision": "violation", "rule": "rules/p.yaml:12", "evidence": {"provider": "aws"}}
    seq = journal.append([flow_entry(flow(1, 2, 7), verdict, proc), flow_entry(flow(3, 4), {})])
    assert seq == 2
    got = list(journal.flows())
    assert [(g.seq, g.flow, g.verdict, g.process) for g in got] == [
        (1, flow(1, 2, 7), verdict, proc),
        (2, flow(3, 4), {}, None),
    ]


def test_a_flow_row_keeps_its_direction_and_an_older_row_without_one_still_reads(
    journal: Journal,
) -> None:
    """Rows journaled before flows said how their local side was decided read as the weakest,
    `first-packet`, and still verify."""
    turned = flow(1, 2, 1)._replace(direction="local-networks")
    old = flow_entry(flow(3, 4, 2), {"decision": "allow"})
    del old.body["flow"]["direction"]
    journal.append([flow_entry(turned, {"decision": "allow"}), old])
    assert journal.verify().ok
    assert [r.flow.direction for r in journal.flows()] == ["local-networks", "first-packet"]


def test_heartbeats_and_inputs_in_force(journal: Journal) -> None:
    journal.append([inputs_entry(0, "aa" * 32, {"aws": "v1"}, "rules/p.yaml")])
    journal.append([heartbeat_entry(0, 10 * S, {"packets": 5, "dropped": 0})] + flows(2))
    journal.append([inputs_entry(20 * S, "bb" * 32, {"aws": "v2"})] + flows(1, 20))
    assert list(journal.heartbeats()) == [Heartbeat(0, 10 * S, {"packets": 5, "dropped": 0}, 2)]
    first, second = journal.inputs_at(3), journal.inputs_at(6)
    assert first is not None and (first.policy_sha256, first.ranges) == ("aa" * 32, {"aws": "v1"})
    assert first.policy_path == "rules/p.yaml" and first.seq == 1
    assert second is not None and (second.seq, second.at_ns, second.ranges) == (
        5,
        20 * S,
        {"aws": "v2"},
    )


def test_batches_are_numbered_in_order_and_resume_after_reopen(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with Journal.open(path, create=True) as j:
        assert j.append(flows(1000)) == 1000
        assert j.append(flows(3)) == 1003
        assert j.append([]) == 1003
    with Journal.open(path) as j:
        assert j.append(flows(2)) == 1005
        assert [f.seq for f in j.flows()][:3] == [1, 1001, 1004]  # by first packet, then seq
        assert j.verify().ok and j.verify().rows == 1005


def test_two_writers_continue_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with Journal.open(path, create=True) as a, Journal.open(path) as b:
        for i in range(6):
            (a if i % 2 else b).append(flows(3, i))
        assert a.verify().ok and a.head() == b.head() and a.head().seq == 18


@pytest.mark.parametrize(
    ("since", "until", "expect"),
    [
        (None, None, [0, 1, 2, 3, 4]),
        (2, 3, [1, 2]),  # flows span [i, i+1]: flow 1 ends at 2, flow 3 starts at 3 (excluded)
        (2.5, 2.6, [2]),
        (5, None, [4]),
        (6, None, []),
        (None, 0, []),
        (None, 0.5, [0]),
    ],
)
def test_flows_overlapping_a_window(
    journal: Journal, since: float | None, until: float | None, expect: list[int]
) -> None:
    journal.append(flows(5))
    window = [None if t is None else int(t * S) for t in (since, until)]
    assert [f.flow.serial for f in journal.flows(*window)] == expect


def test_body_encoding_is_canonical_and_bad_values_fail_before_writing(journal: Journal) -> None:
    journal.append(
        [Entry("note", 1, {"b": 1, "a": [1, "x"]}), Entry("note", 2, {"a": [1, "x"], "b": 1})]
    )
    bodies = sql(journal, "SELECT body FROM entries")
    assert bodies[0] == bodies[1] == ('{"a":[1,"x"],"b":1}',)
    with pytest.raises(TypeError):
        journal.append(flows(2) + [Entry("note", 3, {"x": {1, 2}})])
    with pytest.raises(ValueError):
        journal.append([Entry("note", 3, {"x": float("nan")})])
    assert journal.head().seq == 2
    with pytest.raises(ValueError, match="kind"):
        Entry("Bad kind", 0, {})
    with pytest.raises(ValueError, match="ends"):
        Entry("note", 5, {}, end_ns=4)


# --- verify --------------------------------------------------------------------------------


def test_clean_journal_verifies(journal: Journal) -> None:
    result = filled(journal).verify()
    assert result.ok and result.rows == 12 and (result.first_seq, result.last_seq) == (1, 12)
    assert result.ended_with_stop and result.head == journal.head().hash
    assert str(result).startswith("ok: 12 rows, seq 1..12, head 12:")
    assert verify_journal(journal.path) == result


def test_empty_journal_verifies(journal: Journal) -> None:
    result = journal.verify()
    assert result.ok and result.rows == 0 and not result.ended_with_stop
    assert str(result).startswith("ok: 0 rows, empty")


TAMPER = {
    "edit a body": (["UPDATE entries SET body = replace(body, 'allow', 'block') WHERE seq = 5"], 5),
    "edit a time": (["UPDATE entries SET ts_ns = ts_ns + 1 WHERE seq = 6"], 6),
    "edit a kind": (["UPDATE entries SET kind = 'note' WHERE seq = 7"], 7),
    "make a body invalid UTF-8": (
        ["UPDATE entries SET body = CAST(x'ff' AS TEXT) WHERE seq = 9"],
        9,
    ),
    "make a kind too long to be one": (
        ["UPDATE entries SET kind = printf('%.300c', 'a') WHERE seq = 3"],
        3,
    ),
    "change a hash": (["UPDATE entries SET hash = zeroblob(32) WHERE seq = 8"], 8),
    "delete a middle row": (["DELETE FROM entries WHERE seq = 5"], 5),
    "delete the first row": (["DELETE FROM entries WHERE seq = 1"], 1),
    "swap two bodies": (
        [
            "CREATE TEMP TABLE b AS SELECT seq, body FROM entries WHERE seq IN (4, 5)",
            "UPDATE entries SET body = (SELECT body FROM b WHERE b.seq = 9 - entries.seq)"
            " WHERE seq IN (4, 5)",
        ],
        4,
    ),
    "swap two rows' numbers": (
        [
            "UPDATE entries SET seq = -1 WHERE seq = 4",
            "UPDATE entries SET seq = 4 WHERE seq = 5",
            "UPDATE entries SET seq = 5 WHERE seq = -1",
        ],
        4,
    ),
    "insert a row": (
        [
            "UPDATE entries SET seq = seq + 100 WHERE seq >= 6",
            "UPDATE entries SET seq = seq - 99 WHERE seq >= 106",
            "INSERT INTO entries SELECT 6, kind, ts_ns, end_ns, body, hash FROM entries"
            " WHERE seq = 5",
        ],
        6,
    ),
}


@pytest.mark.parametrize("how", TAMPER)
def test_tampering_is_found_at_its_row(journal: Journal, how: str) -> None:
    filled(journal)
    statements, bad = TAMPER[how]
    sql(journal, *statements)
    result = journal.verify()
    assert not result.ok and result.bad_seq == bad, result
    assert result.rows == bad - 1 and result.last_seq == bad - 1
    assert str(result).startswith(f"seq {bad}: ")


def test_a_cut_tail_verifies_but_shows_no_stop_and_fails_a_known_head(journal: Journal) -> None:
    filled(journal)
    known = journal.head()
    sql(journal, "DELETE FROM entries WHERE seq > 9")
    result = journal.verify()
    assert result.ok and not result.ended_with_stop  # the chain alone cannot see the cut
    cut = journal.verify([known])
    assert not cut.ok and cut.bad_seq == 10 and "ends at 9, head 12 known" in cut.reason
    assert journal.verify([Head.parse(str(known))]) == cut


def test_a_rewritten_chain_verifies_alone_but_fails_a_known_head(journal: Journal) -> None:
    filled(journal)
    known = [journal_head_at(journal, 4)]  # any row's hash can be kept, not only the head's
    prev = bytes.fromhex(journal_head_at(journal, 2).hash)
    rows = sql(journal, "SELECT seq, kind, ts_ns, end_ns, body FROM entries WHERE seq >= 3")
    with closing(sqlite3.connect(journal.path, isolation_level=None)) as db:
        for seq, kind, ts, end, body in rows:
            body = body.replace("allow", "block")
            prev = row_hash(prev, seq, kind.encode(), ts, end, body.encode())
            db.execute("UPDATE entries SET body = ?, hash = ? WHERE seq = ?", (body, prev, seq))
    assert journal.verify().ok  # no secret: whoever can write the file can rebuild the chain
    result = journal.verify(known)
    assert not result.ok and result.bad_seq == 4 and "recorded as head" in result.reason


def journal_head_at(journal: Journal, seq: int) -> Head:
    [(digest,)] = sql(journal, f"SELECT hash FROM entries WHERE seq = {seq}")
    assert isinstance(digest, bytes)
    return Head(seq, digest.hex())


def test_head_parse_rejects_junk() -> None:
    for text in ("12", "x:" + "a" * 64, "12:" + "a" * 63, "12:" + "A" * 64):
        with pytest.raises(ValueError, match="SEQ:SHA256HEX"):
            Head.parse(text)


# --- retention -----------------------------------------------------------------------------


def test_prune_keeps_a_verifiable_chain_and_the_inputs_in_force(journal: Journal) -> None:
    journal.append([inputs_entry(0, "aa" * 32, {"aws": "v1"})])
    filled(journal, 10)  # rows 2..13; flows 3..12 end at 1..10 s
    assert journal.prune(5 * S) == 6  # inputs, start, and the flows that ended before 5 s
    result = journal.verify()
    assert result.ok and (result.first_seq, result.last_seq, result.rows) == (7, 14, 8)
    assert not result.ended_with_stop  # the anchor is the last row now
    assert [f.flow.serial for f in journal.flows()] == list(range(4, 10))
    carried = journal.inputs_at(7)
    assert carried is not None and (carried.seq, carried.ranges) == (1, {"aws": "v1"})
    assert journal.prune(5 * S) == 0
    assert journal.prune(9 * S) == 4 and journal.verify().ok  # the old anchor goes too
    again = journal.inputs_at(10)
    assert again == carried


def test_prune_everything_then_write_on(journal: Journal) -> None:
    filled(journal, 3)
    assert journal.prune(10**6 * S) == 5
    assert journal.verify().ok and journal.verify().rows == 1
    journal.append(flows(2))
    assert journal.verify().ok and journal.head().seq == 8


@pytest.mark.parametrize(
    ("statement", "bad"),
    [
        ("UPDATE entries SET body = replace(body, 'allow', 'block') WHERE seq = 7", 7),
        ("DELETE FROM entries WHERE seq = 6", 6),  # the first row after the cut
        ("DELETE FROM entries WHERE kind = 'anchor'", 1),  # then rows 1..5 are simply missing
        ("UPDATE entries SET body = replace(body, '\"cut\":6', '\"cut\":7') WHERE seq = 13", 7),
        ("UPDATE entries SET body = 'garbage' WHERE kind = 'anchor'", 13),
        ("UPDATE entries SET body = CAST(x'ff' AS TEXT) WHERE kind = 'anchor'", 13),
    ],
)
def test_tampering_after_prune_is_still_found(journal: Journal, statement: str, bad: int) -> None:
    filled(journal, 10)
    assert journal.prune(5 * S) == 5
    sql(journal, statement)
    result = journal.verify()
    assert not result.ok and result.bad_seq == bad, result


def test_prune_refuses_to_cut_away_tampering(journal: Journal) -> None:
    filled(journal, 10)
    sql(journal, "UPDATE entries SET body = replace(body, 'allow', 'x') WHERE seq = 3")
    with pytest.raises(JournalError, match=r"journal\.db: will not prune .*seq 3: does not match"):
        journal.prune(5 * S)
    assert journal.head().seq == 12


# --- crash safety --------------------------------------------------------------------------


def test_kill_9_at_random_moments_loses_nothing_committed(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    rng = random.Random(20240509)
    reported: list[int] = []
    for round_ in range(20):
        writer = subprocess.Popen(
            [sys.executable, "-m", "tests.journal.writer", str(path), str(round_)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        read = b""
        if round_ % 5 == 0:  # anywhere: start-up, opening, creating the file, first batches
            time.sleep(rng.uniform(0.0, 0.4))  # a random moment to kill at, not a wait
        else:  # while writing: after its start row and its first batch are committed
            assert writer.stdout is not None
            read = writer.stdout.readline() + writer.stdout.readline()
            assert read.count(b"\n") == 2, writer.stderr.read() if writer.stderr else b""
            time.sleep(rng.uniform(0.0, 0.08))
        writer.kill()
        out, err = writer.communicate()
        assert writer.returncode == -9, err.decode()
        reported += map(int, (read + out).split())  # seqs only grow
        with Journal.open(path, create=True) as journal:
            result = journal.verify()
            assert result.ok, result
            assert result.last_seq >= max(reported, default=0)
    with Journal.open(path) as journal:
        present = {seq for (seq,) in sql(journal, "SELECT seq FROM entries")}
        assert set(reported) <= present
        last = journal.head().seq
        assert journal.append(flows(3)) == last + 3
        assert journal.verify().ok


# --- errors --------------------------------------------------------------------------------


def one_line(err: pytest.ExceptionInfo[JournalError], path: Path | str) -> str:
    message = str(err.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return message


def test_a_directory_is_not_a_journal(tmp_path: Path) -> None:
    with pytest.raises(JournalError) as err:
        Journal.open(tmp_path, create=True)
    assert "is a directory" in one_line(err, tmp_path)


def test_garbage_is_not_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(random.Random(1).randbytes(8192))
    with pytest.raises(JournalError) as err:
        Journal.open(path, create=True)
    assert "not a SQLite database" in one_line(err, path)


def test_other_sqlite_files_and_newer_schemas_are_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with closing(sqlite3.connect(other)) as db:
        db.execute("CREATE TABLE t (x)")
    with pytest.raises(JournalError) as err:
        Journal.open(other, create=True)
    assert "not a residency journal" in one_line(err, other)
    newer = tmp_path / "newer.db"
    Journal.open(newer, create=True).close()
    with closing(sqlite3.connect(newer)) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(JournalError) as err:
        Journal.open(newer)
    assert "schema 99 is newer" in one_line(err, newer)


def test_readers_do_not_create_journals(tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    with pytest.raises(JournalError) as err:
        verify_journal(str(path))
    assert "no such journal" in one_line(err, path) and not path.exists()


def test_new_journals_are_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "journal.db"
    Journal.open(path, create=True).close()
    assert (path.stat().st_mode & 0o777, path.parent.stat().st_mode & 0o777) == (0o600, 0o700)


def test_a_read_only_directory(tmp_path: Path) -> None:
    if os.geteuid() == 0:  # root writes through chmod: use a read-only file system instead
        with tmpfs(tmp_path / "ro", "ro,size=64k") as folder:
            with pytest.raises(JournalError) as err:
                Journal.open(folder / "journal.db", create=True)
        assert "Read-only file system" in one_line(err, folder / "journal.db")
        return
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(JournalError) as err:
            Journal.open(tmp_path / "journal.db", create=True)
    finally:
        tmp_path.chmod(0o755)
    assert "Permission denied" in one_line(err, tmp_path / "journal.db")


def test_a_journal_whose_file_system_went_read_only_opens_again_later(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "fs", "size=1m") as folder:
        path = folder / "journal.db"
        with Journal.open(path, create=True) as journal:
            journal.append(flows(3))
        remount(folder, "ro")
        with pytest.raises(JournalError) as err:
            Journal.open(path)
        assert "read-only file system" in one_line(err, path)
        remount(folder, "rw")
        with Journal.open(path) as journal:
            assert journal.append(flows(2)) == 5 and journal.verify().ok


@contextmanager
def tmpfs(where: Path, options: str) -> Iterator[Path]:
    """A real small (or read-only) file system. Needs root and a container that lets it mount."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def remount(where: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(where)], check=True)


def test_a_size_limit_fails_like_a_full_disk_and_the_rows_go_in_later(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with Journal.open(path, create=True, max_bytes=256 * 1024) as journal:
        committed = journal.append(flows(200))
        pending = flows(2000, 1000)
        with pytest.raises(JournalError) as err:
            journal.append(pending)
        assert "full" in one_line(err, path)
        assert journal.head().seq == committed and journal.verify().ok
        journal.prune(100 * S)  # retention frees room, as the daemon would
        assert journal.append(pending[:100]) == committed + 1 + 100
    with Journal.open(path) as journal:  # no limit
        assert journal.append(pending[100:]) == committed + 1 + 2000
        assert journal.verify().ok and len(list(journal.flows())) == 101 + 2000  # 99..199 kept


def test_a_full_disk_is_reported_and_the_writer_recovers(tmp_path: Path) -> None:
    with (
        tmpfs(tmp_path / "tiny", "size=4m") as tiny_disk,
        Journal.open(tiny_disk / "journal.db", create=True) as journal,
    ):
        path, filler = tiny_disk / "journal.db", tiny_disk / "filler"
        committed = journal.append(flows(100))
        free = os.statvfs(tiny_disk)
        filler.write_bytes(b"\0" * (free.f_bavail * free.f_frsize - 16 * 1024))
        pending = flows(500, 1000)
        with pytest.raises(JournalError) as err:
            journal.append(pending)
        assert "full" in one_line(err, path)
        assert journal.head().seq == committed and journal.verify().ok
        filler.unlink()
        assert journal.append(pending) == committed + 500
        assert journal.verify().ok


# --- unwatched periods ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("beats", "expect"),
    [
        ([], [(0, 100)]),
        ([(0, 100)], []),
        ([(10, 20), (20, 40), (60, 90)], [(0, 10), (40, 60), (90, 100)]),
        ([(30, 50), (-5, 40)], [(50, 100)]),  # overlapping, out of order, starting early
        ([(0, 50), (120, 130)], [(50, 100)]),  # a beat after the window
    ],
)
def test_unwatched(beats: list[tuple[int, int]], expect: list[tuple[int, int]]) -> None:
    assert unwatched((Heartbeat(a, b) for a, b in beats), 0, 100) == expect
