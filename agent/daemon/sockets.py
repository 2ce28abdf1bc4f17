"""Read the host's TCP and UDP socket table: sock_diag over netlink on Linux, psutil elsewhere.

psutil.net_connections() parses /proc/net/{tcp,udp}{,6} and scans every process's fds on each
call (45 ms with 1,000 sockets open); sock_diag dumps of the same table cost a tenth of that,
and leave the fd scan to `agent.daemon.owners`, which does it only for new sockets. Where
netlink is missing or refused (other systems, a seccomp or container policy), the table falls
back to psutil for good and says why.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from functools import partial
from typing import Any

import psutil

from agent.daemon.sockdiag import (
    NETLINK_SOCK_DIAG,
    Connection,
    any_address,
    dump_request,
    parse_dump,
    tcp_request,
)
from agent.errors import ResidencyError

__all__ = ["Connection", "SocketTable", "read_connections"]

TCP, UDP = socket.IPPROTO_TCP, socket.IPPROTO_UDP
FAMILIES = (socket.AF_INET, socket.AF_INET6)
RECV_SIZE = 1 << 16
"""Larger than any dump message the kernel builds (at most 32 KiB), so none is cut short."""
TIMEOUT = 2.0
"""Seconds to wait for the kernel's next part of a dump before giving up on netlink."""
NO_KERNEL_ROWS = frozenset({"TIME_WAIT", "SYN_RECV"})
"""psutil rows left out when no process holds them, as sock_diag is not asked for them."""


class Refused(OSError):
    """The kernel answered a dump request with an error."""


class SocketTable:
    """The host's sockets on demand; one netlink socket kept open between reads."""

    def __init__(self, sock_diag: bool = True, tcp_in_one: bool = True) -> None:
        self._sock: socket.socket | None = None
        self._seq = 0
        self.tcp_in_one = tcp_in_one
        """Ask for TCP of both families in one dump; False after the kernel refused it."""
        self.source = "sock_diag" if sock_diag and hasattr(socket, "AF_NETLINK") else "psutil"
        """Where the table comes from now: `sock_diag` or `psutil`."""
        self.why = "" if self.source == "sock_diag" else "sock_diag not used on this system"
        """Why psutil is the source (empty while sock_diag is)."""

    def read(self) -> list[Connection]:
        """Every TCP and UDP socket (IPv4 and IPv6) but those only the kernel holds
        (TIME_WAIT, half-open requests: see `sockdiag.STATES`)."""
        if self.source == "sock_diag":
            try:
                return self._tcp() + self._per_family(UDP)
            except (OSError, ResidencyError) as err:
                self.close()
                self.source, self.why = "psutil", f"sock_diag failed: {err}"
        try:
            return from_psutil()
        except psutil.Error as err:  # AccessDenied on macOS without root
            self.why = f"psutil failed: {err!r}"
            return []

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> SocketTable:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _tcp(self) -> list[Connection]:
        if self.tcp_in_one:
            try:
                return self._dump(tcp_request, TCP)
            except Refused:  # a kernel without the old request: one dump per family
                self.close()
                self.tcp_in_one = False
        return self._per_family(TCP)

    def _per_family(self, proto: int) -> list[Connection]:
        return [row for f in FAMILIES for row in self._dump(partial(dump_request, f, proto), proto)]

    def _dump(self, request: Callable[[int], bytes], proto: int) -> list[Connection]:
        """The rows of one dump; `request` makes the message for a sequence number."""
        if self._sock is None:
            self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
            self._sock.settimeout(TIMEOUT)
        self._seq = self._seq % 0xFFFFFFFF + 1
        self._sock.send(request(self._seq))
        out: list[Connection] = []
        while True:
            part = parse_dump(self._sock.recv(RECV_SIZE), proto, self._seq)
            out += part.connections
            if part.error:
                raise Refused(part.error, os.strerror(part.error))
            if part.done:
                return out


def from_psutil() -> list[Connection]:
    """The table as psutil.net_connections() gives it: pids, but no uids or inodes."""
    rows = psutil.net_connections(kind="inet")
    return [_row(c) for c in rows if c.pid or c.status not in NO_KERNEL_ROWS]


def _row(c: Any) -> Connection:
    proto = TCP if c.type == socket.SOCK_STREAM else UDP
    unset = (any_address(c.family), 0)
    local, lport = c.laddr or unset
    remote, rport = c.raddr or unset
    return Connection(proto, local, lport, remote, rport, c.status, -1, 0, c.pid or 0)


def read_connections() -> list[Connection]:
    """The host's socket table now, from a fresh `SocketTable`."""
    with SocketTable() as table:
        return table.read()
