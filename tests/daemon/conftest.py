"""Real sockets on loopback for the daemon's tests: nothing of the network stack is mocked."""

from __future__ import annotations

import ipaddress
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import NamedTuple

import pytest

from agent.daemon.sockdiag import TCP_STATES, UDP_STATE, Connection
from tests.support import ended

LINUX = sys.platform.startswith("linux") and hasattr(socket, "AF_NETLINK")
needs_linux = pytest.mark.skipif(not LINUX, reason="sock_diag and /proc are Linux only")
LOOPBACK: dict[int, str] = {socket.AF_INET: "127.0.0.1", socket.AF_INET6: "::1"}


def _has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


HAS_IPV6 = _has_ipv6()
USABLE_FAMILIES = [socket.AF_INET, socket.AF_INET6] if HAS_IPV6 else [socket.AF_INET]
FAMILIES = [
    pytest.param(socket.AF_INET, id="ipv4"),
    pytest.param(
        socket.AF_INET6,
        id="ipv6",
        marks=pytest.mark.skipif(not HAS_IPV6, reason="no IPv6 loopback"),
    ),
]


class Pair(NamedTuple):
    listener: socket.socket
    client: socket.socket
    server: socket.socket


class Sockets:
    """Opens loopback sockets and closes whatever is left at the end of the test."""

    def __init__(self) -> None:
        self.open: list[socket.socket] = []

    def keep(self, s: socket.socket) -> socket.socket:
        self.open.append(s)
        return s

    def tcp(self, family: int = socket.AF_INET) -> Pair:
        listener = self.keep(socket.create_server((LOOPBACK[family], 0), family=family))
        client = self.keep(socket.create_connection(listener.getsockname()[:2]))
        server = self.keep(listener.accept()[0])
        return Pair(listener, client, server)

    def udp(self, family: int = socket.AF_INET) -> socket.socket:
        s = self.keep(socket.socket(family, socket.SOCK_DGRAM))
        s.bind((LOOPBACK[family], 0))
        return s


@pytest.fixture
def sockets() -> Iterator[Sockets]:
    made = Sockets()
    yield made
    for s in made.open:
        s.close()


def five(s: socket.socket) -> tuple[int, str, int, str, int]:
    """A socket's 5-tuple as a `Connection` spells it (not connected: the any-address, 0)."""
    proto = socket.IPPROTO_TCP if s.type == socket.SOCK_STREAM else socket.IPPROTO_UDP
    local, lport = s.getsockname()[:2]
    try:
        remote, rport = s.getpeername()[:2]
    except OSError:
        remote, rport = ("::" if s.family == socket.AF_INET6 else "0.0.0.0"), 0
    return proto, local, lport, remote, rport


def rows_of(rows: list[Connection], s: socket.socket) -> list[Connection]:
    return [r for r in rows if r[:5] == five(s)]


def check_row(r: Connection) -> None:
    """The contract every row keeps (psutil's check_connection_ntuple, for our record)."""
    assert r.proto in (socket.IPPROTO_TCP, socket.IPPROTO_UDP)
    for addr, port in ((r.local, r.lport), (r.remote, r.rport)):
        ipaddress.ip_address(addr)
        assert 0 <= port <= 0xFFFF
    states = (UDP_STATE,) if r.proto == socket.IPPROTO_UDP else TCP_STATES[1:]
    assert r.state in states
    assert r.uid >= -1 and r.inode >= 0 and r.pid >= 0


CHILD = """
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
print(s.getsockname()[1], flush=True)
sys.stdin.read()
"""


class Child(NamedTuple):
    proc: subprocess.Popen[str]
    port: int
    """The child's local port of its connection."""


@pytest.fixture
def child_connection(sockets: Sockets) -> Iterator[tuple[Child, socket.socket]]:
    """A child process holding a TCP connection to a listener of this process."""
    listener = sockets.keep(socket.create_server(("127.0.0.1", 0)))
    host, port = listener.getsockname()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, host, str(port)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stdin is not None
    child = Child(proc, int(proc.stdout.readline()))
    server = sockets.keep(listener.accept()[0])
    yield child, server
    proc.stdin.close()
    proc.stdout.close()
    ended(proc)
