"""The socket table read from the kernel, checked against sockets this test opened and against
psutil's reading of the same moment."""

from __future__ import annotations

import os
import socket
from typing import Any

import psutil
import pytest

from agent.daemon.sockets import SocketTable, read_connections
from tests.daemon.conftest import FAMILIES, Sockets, check_row, five, needs_linux, rows_of

pytestmark = needs_linux


@pytest.mark.parametrize("family", FAMILIES)
def test_tcp_listener_and_both_ends(family: int, sockets: Sockets) -> None:
    pair = sockets.tcp(family)
    rows = read_connections()
    for row in rows:
        check_row(row)
    (listener,) = rows_of(rows, pair.listener)
    (client,) = rows_of(rows, pair.client)
    (server,) = rows_of(rows, pair.server)
    assert (listener.state, client.state, server.state) == ("LISTEN", "ESTABLISHED", "ESTABLISHED")
    assert listener.rport == 0 and listener.remote in ("0.0.0.0", "::")
    assert client[1:5] == (server.remote, server.rport, server.local, server.lport)
    for row, sock in ((listener, pair.listener), (client, pair.client), (server, pair.server)):
        assert row.uid == os.getuid() and row.pid == 0
        assert os.readlink(f"/proc/self/fd/{sock.fileno()}") == f"socket:[{row.inode}]"


@pytest.mark.parametrize("family", FAMILIES)
def test_udp_bound_and_connected(family: int, sockets: Sockets) -> None:
    bound, peer = sockets.udp(family), sockets.udp(family)
    peer.connect(bound.getsockname())
    rows = read_connections()
    (b,) = rows_of(rows, bound)
    (p,) = rows_of(rows, peer)
    assert b.state == p.state == "NONE" and b.proto == socket.IPPROTO_UDP
    assert b.rport == 0 and (p.remote, p.rport) == bound.getsockname()[:2]


def test_dual_stack_socket_shows_mapped_addresses(sockets: Sockets) -> None:
    listener = sockets.keep(socket.create_server(("127.0.0.1", 0)))
    client = sockets.keep(socket.socket(socket.AF_INET6, socket.SOCK_STREAM))
    client.connect(("::ffff:127.0.0.1", listener.getsockname()[1]))
    (row,) = rows_of(read_connections(), client)
    assert row.local == "::ffff:127.0.0.1" and row.remote == "::ffff:127.0.0.1"


def test_closed_sockets_leave_or_lose_their_inode(sockets: Sockets) -> None:
    pair = sockets.tcp()
    pair.client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
    gone = five(pair.client)
    pair.client.close()  # linger 0: a reset, so neither end is left in the table
    assert [r for r in read_connections() if r[:5] == gone and r.inode] == []


def test_same_sockets_as_psutil(sockets: Sockets) -> None:
    """The same 5-tuples and states as psutil.net_connections() (its own rows, not ours) for
    every socket this test opened, read at the same moment."""
    for family in (socket.AF_INET, socket.AF_INET6):
        sockets.tcp(family)
        sockets.udp(family)
    opened = {five(s) for s in sockets.open}
    ours = {r[:6] for r in read_connections() if r[:5] in opened}
    theirs = {_psutil_row(c) for c in psutil.net_connections("inet") if c.pid == os.getpid()}
    assert ours == {row for row in theirs if row[:5] in opened} and len(ours) == 8


def _psutil_row(c: Any) -> tuple[int, str, int, str, int, str]:
    proto = socket.IPPROTO_TCP if c.type == socket.SOCK_STREAM else socket.IPPROTO_UDP
    remote = c.raddr or ("::" if c.family == socket.AF_INET6 else "0.0.0.0", 0)
    return proto, c.laddr.ip, c.laddr.port, remote[0], remote[1], c.status


def test_tcp_in_one_dump_or_one_per_family(sockets: Sockets) -> None:
    ours = {five(s) for family in (socket.AF_INET, socket.AF_INET6) for s in sockets.tcp(family)}
    with SocketTable() as one, SocketTable(tcp_in_one=False) as per_family:
        rows = [{r for r in t.read() if r[:5] in ours} for t in (one, per_family)]
    assert rows[0] == rows[1] and len(rows[0]) == 6 and per_family.tcp_in_one is False


def test_psutil_source_tells_pids(sockets: Sockets) -> None:
    pair = sockets.tcp()
    table = SocketTable(sock_diag=False)
    (row,) = rows_of(table.read(), pair.client)
    assert (row.pid, row.uid, row.inode) == (os.getpid(), -1, 0)
    assert table.source == "psutil" and table.why


def test_source_says_sock_diag_then_why_it_fell_back(sockets: Sockets) -> None:
    pair = sockets.tcp()
    with SocketTable() as table:
        assert rows_of(table.read(), pair.client)
        assert (table.source, table.why) == ("sock_diag", "")
        table.close()
        broken = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 4)
        broken.close()
        table._sock = broken  # the netlink socket stops working under the table
        assert rows_of(table.read(), pair.client)
    assert table.source == "psutil" and table.why.startswith("sock_diag failed: [Errno 9]")


def test_psutil_agrees_on_pid_of_listener(sockets: Sockets) -> None:
    pair = sockets.tcp()
    port = pair.listener.getsockname()[1]
    pids = {c.pid for c in psutil.net_connections("tcp4") if c.laddr and c.laddr.port == port}
    assert pids == {os.getpid()}
