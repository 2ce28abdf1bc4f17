"""The tracker on real loopback sockets: events as connections open, change state and close,
each with its process; owners of flows by 5-tuple, while open and for a while after."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import psutil
import pytest

from agent.daemon.connections import ConnectionEvent, ConnectionTracker, local_addresses, pair
from agent.daemon.owners import SECOND
from agent.daemon.sockdiag import Connection
from agent.daemon.sockets import SocketTable
from tests.daemon.conftest import FAMILIES, Child, Sockets, five, needs_linux
from tests.support import PATIENCE, ended

TCP, UDP = socket.IPPROTO_TCP, socket.IPPROTO_UDP
LINGER_0 = b"\1\0\0\0\0\0\0\0"  # struct linger {on, 0 s}: close with a reset


@pytest.fixture
def tracker() -> Iterator[ConnectionTracker]:
    with ConnectionTracker(remember_ns=60 * SECOND) as t:
        t.poll(0)
        yield t


def mine(events: list[ConnectionEvent], *socks: socket.socket) -> dict[tuple[object, ...], str]:
    """The kind of event for each of these sockets' 5-tuples."""
    wanted = {five(s) for s in socks}
    return {e.connection[:5]: e.kind for e in events if e.connection[:5] in wanted}


def event_of(
    events: list[ConnectionEvent], s: socket.socket | tuple[object, ...]
) -> ConnectionEvent:
    key = five(s) if isinstance(s, socket.socket) else s
    (event,) = [e for e in events if e.connection[:5] == key]
    return event


@needs_linux
@pytest.mark.parametrize("family", FAMILIES)
def test_open_connections_are_this_process(
    family: int, sockets: Sockets, tracker: ConnectionTracker
) -> None:
    pair_ = sockets.tcp(family)
    udp = sockets.udp(family)
    events = tracker.poll(1 * SECOND)
    for s in (*pair_, udp):
        e = event_of(events, s)
        assert e.kind == "opened" and e.at_ns == SECOND and e.connection.uid == os.getuid()
        assert e.process is not None and e.process.pid == os.getpid()
        assert e.process.exe == os.path.realpath(sys.executable)
        assert e.process.name == psutil.Process().name()
    states = {event_of(events, s).connection.state for s in (*pair_, udp)}
    assert states == {"LISTEN", "ESTABLISHED", "NONE"}
    assert not mine(tracker.poll(2 * SECOND), *pair_, udp)  # nothing changed


@needs_linux
def test_a_close_is_a_change_then_a_close(sockets: Sockets, tracker: ConnectionTracker) -> None:
    p = sockets.tcp()
    tracker.poll(1 * SECOND)
    client, server = five(p.client), five(p.server)
    p.client.close()
    events = tracker.poll(2 * SECOND)
    c, s = event_of(events, client), event_of(events, server)
    assert (c.kind, c.was, c.connection.inode) == ("changed", "ESTABLISHED", 0)
    assert c.connection.state in ("FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT")
    assert c.process is not None and c.process.pid == os.getpid()  # the owner stays with it
    assert (s.kind, s.was, s.connection.state) == ("changed", "ESTABLISHED", "CLOSE_WAIT")
    p.server.close()
    closed = until(tracker, lambda e: e.kind == "closed" and e.connection[:5] == server)
    assert closed.process is not None and closed.process.pid == os.getpid()


@needs_linux
def test_reset_closes_both_ends_and_udp_closes(
    sockets: Sockets, tracker: ConnectionTracker
) -> None:
    p = sockets.tcp()
    udp = sockets.udp()
    tracker.poll(1 * SECOND)
    keys = five(p.client), five(p.server), five(udp)
    p.client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_0)
    for s in (p.client, p.server, udp):
        s.close()
    events = tracker.poll(2 * SECOND)
    for key in keys:
        e = event_of(events, key)
        assert e.kind == "closed" and e.process is not None and e.process.pid == os.getpid()


@needs_linux
def test_owner_of_either_direction_and_after_close(
    sockets: Sockets, tracker: ConnectionTracker
) -> None:
    p = sockets.tcp()
    tracker.poll(1 * SECOND)
    _, a, ap, b, bp = five(p.client)
    assert _pid(tracker.owner_of(TCP, a, ap, b, bp)) == os.getpid()
    assert _pid(tracker.owner_of(TCP, b, bp, a, ap)) == os.getpid()
    assert tracker.owner_of(UDP, a, ap, b, bp) is None
    p.client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_0)
    for s in p:  # the listener too: it would own the server end's flows still
        s.close()
    tracker.poll(2 * SECOND)
    assert _pid(tracker.owner_of(TCP, a, ap, b, bp)) == os.getpid()  # remembered
    tracker.poll(62 * SECOND)
    assert _pid(tracker.owner_of(TCP, a, ap, b, bp)) == os.getpid()  # 60 s after the close
    tracker.poll(62 * SECOND + 1)
    assert tracker.owner_of(TCP, a, ap, b, bp) is None


@needs_linux
def test_owner_of_unconnected_and_mapped(sockets: Sockets, tracker: ConnectionTracker) -> None:
    udp = sockets.udp()
    anywhere = sockets.keep(socket.create_server(("0.0.0.0", 0)))
    dual = sockets.keep(socket.socket(socket.AF_INET6, socket.SOCK_STREAM))
    dual.connect(("::ffff:127.0.0.1", anywhere.getsockname()[1]))
    tracker.poll(1 * SECOND)
    host, port = udp.getsockname()
    assert _pid(tracker.owner_of(UDP, "198.51.100.7", 53, host, port)) == os.getpid()
    lport = anywhere.getsockname()[1]
    assert _pid(tracker.owner_of(TCP, "203.0.113.9", 40000, "127.0.0.1", lport)) == os.getpid()
    assert tracker.owner_of(TCP, "203.0.113.9", 40000, "198.51.100.7", lport) is None
    _, _, dport, _, rport = five(dual)
    assert _pid(tracker.owner_of(TCP, "127.0.0.1", dport, "127.0.0.1", rport)) == os.getpid()


@needs_linux
def test_child_is_the_owner(
    tracker: ConnectionTracker, child_connection: tuple[Child, socket.socket]
) -> None:
    child, server = child_connection
    sport = server.getsockname()[1]
    events = tracker.poll(1 * SECOND)
    (e,) = [e for e in events if e.connection.lport == child.port and e.connection.rport == sport]
    assert e.kind == "opened" and e.process is not None and e.process.pid == child.proc.pid
    assert (
        _pid(tracker.owner_of(TCP, "127.0.0.1", child.port, "127.0.0.1", sport)) == child.proc.pid
    )
    assert _pid(tracker.owner_of(TCP, "127.0.0.1", sport, "127.0.0.1", child.port)) == os.getpid()
    assert child.proc.stdin is not None
    child.proc.stdin.close()
    ended(child.proc)
    events = tracker.poll(2 * SECOND)
    (gone,) = [e for e in events if e.connection[2:5] == (child.port, "127.0.0.1", sport)]
    assert gone.kind == "changed" and _pid(gone.process) == child.proc.pid
    assert child.proc.pid not in tracker.owners.pids


HANDOVER = """
import socket, subprocess, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
wait = [sys.executable, "-c", "import sys; sys.stdin.read()"]
heir = subprocess.Popen(wait, pass_fds=[s.fileno()])
print(s.getsockname()[1], heir.pid, flush=True)
sys.stdin.readline()
"""


@needs_linux
def test_socket_of_an_exited_owner_goes_to_the_heir(
    sockets: Sockets, tracker: ConnectionTracker
) -> None:
    listener = sockets.keep(socket.create_server(("127.0.0.1", 0)))
    host, port = listener.getsockname()
    parent = subprocess.Popen(
        [sys.executable, "-c", HANDOVER, host, str(port)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert parent.stdin is not None and parent.stdout is not None
    try:
        cport, heir = map(int, parent.stdout.readline().split())
        sockets.keep(listener.accept()[0])
        tracker.poll(1 * SECOND)
        assert _pid(tracker.owner_of(TCP, host, cport, host, port)) in (parent.pid, heir)
        parent.stdin.write("go\n")
        parent.stdin.flush()
        ended(parent)
        tracker.poll(2 * SECOND)
        assert _pid(tracker.owner_of(TCP, host, cport, host, port)) == heir
    finally:
        parent.stdin.close()
        parent.stdout.close()
        ended(parent)
        if psutil.pid_exists(heir):
            psutil.Process(heir).wait(PATIENCE)


@needs_linux
def test_counters_and_a_steady_table_costs_no_scan(
    sockets: Sockets, tracker: ConnectionTracker
) -> None:
    """Other processes on a busy machine open sockets too, and each new unknown socket may
    cost a scan: so wait for a window of three polls in which nobody did (up to 50 windows),
    instead of assuming the machine is quiet."""
    sockets.tcp()
    tracker.poll(1 * SECOND)
    now = 1
    for _ in range(50):
        scans = tracker.counters.scans
        for step in (1, 2, 3):
            tracker.poll((now + step) * SECOND)
        now += 3
        if tracker.counters.scans == scans:
            break
    c = tracker.counters
    assert c.scans == scans, "no three polls in a row without a scan"
    assert c.polls == now + 1  # and the fixture's own first poll
    assert c.connections >= c.attributed >= 3 and tracker.source == "sock_diag"


def test_psutil_source_attributes_by_pid(sockets: Sockets) -> None:
    p = sockets.tcp()
    with ConnectionTracker(SocketTable(sock_diag=False)) as tracker:
        events = tracker.poll(0)
    assert _pid(event_of(events, p.client).process) == os.getpid()
    assert tracker.source.startswith("psutil (") and tracker.counters.scans == 0


def until(tracker: ConnectionTracker, wanted: Callable[[ConnectionEvent], bool]) -> ConnectionEvent:
    """Poll (10 ms apart) until an event is `wanted`: the kernel may take a moment."""
    end = time.monotonic() + PATIENCE
    for i in itertools.count(10):
        for e in tracker.poll(i * SECOND):
            if wanted(e):
                return e
        assert time.monotonic() < end, f"waited {PATIENCE:.0f} s for the connection event"
        time.sleep(0.01)
    raise AssertionError("unreachable")


def _pid(process: object) -> int | None:
    return getattr(process, "pid", None)


def row(inode: int, state: str = "ESTABLISHED", pid: int = 0, rport: int = 2) -> Connection:
    return Connection(TCP, "127.0.0.1", 1, "127.0.0.1", rport, state, 0, inode, pid)


@pytest.mark.parametrize(
    ("removed", "added", "changed", "opened", "closed"),
    [
        ([row(7)], [row(7, "CLOSE_WAIT")], 1, 0, 0),  # a state change
        ([row(7)], [row(0, "FIN_WAIT1")], 1, 0, 0),  # closed by its process, kept by the kernel
        ([row(0, "SYN_RECV")], [row(8)], 1, 0, 0),  # accepted
        ([row(7)], [row(8)], 0, 1, 1),  # another socket on the same 5-tuple
        ([row(7)], [row(7, rport=3)], 0, 1, 1),  # another 5-tuple
        ([row(0, pid=5)], [row(0, "CLOSE_WAIT", pid=5)], 1, 0, 0),  # psutil rows
        ([row(7), row(8)], [row(8, "LISTEN"), row(7, "LISTEN")], 2, 0, 0),  # SO_REUSEPORT
        ([], [row(7)], 0, 1, 0),
        ([row(7)], [], 0, 0, 1),
    ],
)
def test_pair(
    removed: list[Connection], added: list[Connection], changed: int, opened: int, closed: int
) -> None:
    got = pair(removed, added)
    assert (len(got[0]), len(got[1]), len(got[2])) == (changed, opened, closed)
    assert all(old.inode == new.inode or 0 in (old.inode, new.inode) for old, new in got[0])


@needs_linux
def test_only_the_latest_closed_are_remembered(sockets: Sockets) -> None:
    first, second = sockets.tcp(), sockets.tcp()
    keys = [five(first.client), five(second.client)]
    with ConnectionTracker(remember_max=1) as tracker:
        tracker.poll(1 * SECOND)
        for p in (first, second):
            p.client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_0)
            for s in p:
                s.close()
            tracker.poll(2 * SECOND)
        owners = [tracker.owner_of(*key) for key in keys]
    assert owners[0] is None and _pid(owners[1]) == os.getpid()


def test_local_addresses_are_ip_addresses() -> None:
    addrs = local_addresses()
    assert "127.0.0.1" in addrs and all(":" not in a or a.count(":") >= 2 for a in addrs)
