"""Sockets to processes: this test process, a child, a process that is gone, an inode nobody
holds; and the caches that keep a steady table from costing a /proc scan per poll."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import psutil
import pytest

from agent.daemon.owners import SECOND, OwnerCache, _read, describe
from agent.daemon.sockdiag import Connection
from agent.daemon.sockets import read_connections
from agent.model import Process
from tests.daemon.conftest import Child, Sockets, needs_linux, rows_of
from tests.support import ended

pytestmark = needs_linux


def test_own_sockets_are_this_process(sockets: Sockets) -> None:
    pair = sockets.tcp()
    rows = [r for s in pair for r in rows_of(read_connections(), s)]
    cache = OwnerCache()
    owners = cache.owners(rows, 0)
    me = psutil.Process()
    assert owners == [owners[0]] * 3 and owners[0] is not None
    p = owners[0]
    assert (p.pid, p.name, p.exe) == (os.getpid(), me.name(), me.exe())
    assert p.exe == os.path.realpath(sys.executable)
    assert (p.user, p.cmdline) == (me.username(), tuple(me.cmdline()))
    assert abs(p.started_ns - me.create_time() * SECOND) < 1000
    assert cache.scans == 1 and cache.pids == {os.getpid()}


def test_known_sockets_cost_no_scan(sockets: Sockets) -> None:
    pair = sockets.tcp()
    rows = [r for s in pair for r in rows_of(read_connections(), s)]
    cache = OwnerCache()
    first = cache.owners(rows, 0)
    assert len(rows) == 3 and cache.owners(rows, 1) == first and cache.scans == 1


def test_child_connection_is_the_childs(child_connection: tuple[Child, socket.socket]) -> None:
    child, server = child_connection
    rows = read_connections()
    (theirs,) = [r for r in rows if r.lport == child.port and r.rport == server.getsockname()[1]]
    (ours,) = rows_of(rows, server)
    cache = OwnerCache()
    mine, childs = cache.owners([ours, theirs], 0)
    assert mine is not None and mine.pid == os.getpid()
    assert childs is not None and childs.pid == child.proc.pid and childs.exe == mine.exe
    assert childs.cmdline[:2] == (sys.executable, "-c")
    assert cache.pids == {os.getpid(), child.proc.pid}
    assert child.proc.stdin is not None
    child.proc.stdin.close()
    ended(child.proc)
    assert cache.reap() == {child.proc.pid}
    assert cache.pids == {os.getpid()}
    assert cache.owners([theirs], 1) == [None]  # its inode is no one's now


def test_unfound_inodes_wait_before_another_scan() -> None:
    nobody = Connection(6, "127.0.0.1", 1, "127.0.0.1", 2, "ESTABLISHED", 0, 1)
    cache = OwnerCache(retry_ns=10 * SECOND)
    assert cache.owners([nobody], 0) == [None] and cache.scans == 1
    assert cache.owners([nobody], 9 * SECOND) == [None] and cache.scans == 1
    assert cache.owners([nobody], 10 * SECOND) == [None] and cache.scans == 2
    assert cache.owners([nobody], 29 * SECOND) == [None] and cache.scans == 2  # waits 20 s now
    assert cache.owners([nobody], 30 * SECOND) == [None] and cache.scans == 3
    cache.forget([nobody.inode])  # closed: a socket with its inode again is new
    assert cache.owners([nobody], 31 * SECOND) == [None] and cache.scans == 4


def test_rows_without_a_socket_are_nobodys() -> None:
    orphan = Connection(6, "127.0.0.1", 1, "127.0.0.1", 2, "TIME_WAIT", 0, 0)
    cache = OwnerCache()
    assert cache.owners([orphan], 0) == [None] and cache.scans == 0


def test_pids_from_psutil_need_no_scan() -> None:
    row = Connection(6, "127.0.0.1", 1, "127.0.0.1", 2, "ESTABLISHED", -1, 0, os.getpid())
    cache = OwnerCache()
    (owner,) = cache.owners([row], 0)
    assert owner is not None and owner.pid == os.getpid() and cache.scans == 0


def test_forget_lets_go_of_a_pid_with_its_last_socket(sockets: Sockets) -> None:
    pair = sockets.tcp()
    client, server = (rows_of(read_connections(), s)[0] for s in (pair.client, pair.server))
    cache = OwnerCache()
    cache.owners([client, server], 0)
    cache.forget([client.inode])
    assert cache.pids == {os.getpid()}
    cache.forget([server.inode])
    assert cache.pids == frozenset()


def test_vanished_process_keeps_its_pid() -> None:
    proc = subprocess.Popen([sys.executable, "-c", ""])
    ended(proc)
    assert describe(proc.pid) == Process(proc.pid, "")


@pytest.mark.parametrize(
    "error", [psutil.AccessDenied(1), psutil.NoSuchProcess(1), psutil.ZombieProcess(1), OSError()]
)
def test_unreadable_fields_stay_empty(error: Exception) -> None:
    def denied() -> str:
        raise error

    assert _read(denied, "") == ""
