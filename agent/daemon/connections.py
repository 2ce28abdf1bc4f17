"""The host's connections over time, each with its process: polls of the socket table become
`opened`, `changed` and `closed` events, and `owner_of` joins a captured flow to its process.

A steady table costs one read and one set difference per poll; owners are looked up only for
new rows. A row is keyed by its whole record, so a new state is a vanished row and a new one:
`pair` tells those apart from sockets that really closed and opened. Owners of closed
connections are remembered for `remember_ns`, because a flow is judged when it ends, which can
be well after its socket closed (the flow table's idle timeout).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from socket import AF_INET, AF_INET6
from typing import Literal, NamedTuple

import psutil

from agent.daemon.owners import SECOND, OwnerCache
from agent.daemon.sockets import Connection, SocketTable
from agent.model import Process

Kind = Literal["opened", "changed", "closed"]
Key = tuple[int, str, int, str, int]
"""(proto, local, lport, remote, rport), addresses normalised by `_norm`."""
WILDCARDS = {"0.0.0.0": "", "::": ""}
MAPPED = "::ffff:"
LOOPBACK = frozenset({"127.0.0.1", "::1"})


@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    """A connection appeared, changed state, or left the kernel's table."""

    kind: Kind
    """`changed` is a new state, or the socket passing between the kernel and a process
    (accepted from the queue; closed by the process but not yet gone: FIN_WAIT)."""
    connection: Connection
    """The row as last seen (for `changed`, the new one)."""
    process: Process | None
    """Who holds (or last held) the socket; None: process unknown."""
    at_ns: int
    """The poll's time, not the moment it happened: at most one poll interval later."""
    was: str = ""
    """For `changed`, the state before."""


class Counters(NamedTuple):
    """How attribution is going: `polls` and `scans` since the start, the rest at the last poll."""

    polls: int
    connections: int
    attributed: int
    unattributed: int
    scans: int
    """/proc fd scans: they should stay far below `polls` on a steady host."""


class ConnectionTracker:
    """The connection table as last polled, with the owners of live and recent connections."""

    def __init__(
        self,
        table: SocketTable | None = None,
        owners: OwnerCache | None = None,
        remember_ns: int = 600 * SECOND,
        remember_max: int = 100_000,
        addresses_ns: int = 60 * SECOND,
    ) -> None:
        self.table = table or SocketTable()
        self.owners = owners or OwnerCache()
        self.remember_ns = remember_ns
        """How long the owner of a closed connection is remembered for `owner_of`."""
        self.remember_max = remember_max
        """At most this many closed connections are remembered (the oldest go first)."""
        self.addresses_ns = addresses_ns
        """How often the host's own addresses (for sockets bound to all of them) are re-read."""
        self._open: dict[Connection, Process | None] = {}
        self._index: dict[Key, list[Connection]] = {}
        self._gone: dict[Key, tuple[int, Process]] = {}
        """Owners of closed connections, oldest first, with the time they closed."""
        self._unowned: set[Connection] = set()
        """Open rows that name a socket whose owner was not found yet."""
        self._addresses: frozenset[str] = LOOPBACK
        self._addresses_at: int | None = None
        self._polls = 0

    @property
    def source(self) -> str:
        """Where the table comes from: `sock_diag`, or `psutil` and why."""
        table = self.table
        return table.source if not table.why else f"{table.source} ({table.why})"

    @property
    def counters(self) -> Counters:
        attributed = sum(owner is not None for owner in self._open.values())
        n = len(self._open)
        return Counters(self._polls, n, attributed, n - attributed, self.owners.scans)

    def open_count(self) -> int:
        return len(self._open)

    def close(self) -> None:
        self.table.close()

    def __enter__(self) -> ConnectionTracker:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def poll(self, now_ns: int) -> list[ConnectionEvent]:
        """Read the table; what opened, changed and closed since the last poll (the first
        poll opens every connection there is). A socket whose owner exits while another
        process still holds it (passed to a child) goes to that process without an event."""
        self._polls += 1
        rows = dict.fromkeys(self.table.read())
        added = [c for c in rows if c not in self._open]
        removed = [c for c in self._open if c not in rows]
        events = self._apply(*pair(removed, added), now_ns) if added or removed else []
        dead = self.owners.reap()
        if dead:
            self._unowned.update(c for c, p in self._open.items() if p and p.pid in dead)
        if self._unowned:
            self._attribute(list(self._unowned), now_ns)
        self._expire(now_ns)
        self._refresh_addresses(now_ns)
        return events

    def owner_of(self, proto: int, src: str, sport: int, dst: str, dport: int) -> Process | None:
        """The process at either end of a flow that is, or was lately, a connection of this
        host: the exact 5-tuple either way round, else a socket bound to one end's port."""
        for key in self._candidates(proto, _norm(src), sport, _norm(dst), dport):
            for conn in self._index.get(key, ()):
                if (owner := self._open[conn]) is not None:
                    return owner
            if key in self._gone:
                return self._gone[key][1]
        return None

    def _candidates(self, proto: int, a: str, ap: int, b: str, bp: int) -> Iterator[Key]:
        yield proto, a, ap, b, bp
        yield proto, b, bp, a, ap
        yield proto, a, ap, "", 0  # bound to this address, not connected: UDP, listeners
        yield proto, b, bp, "", 0
        for addr, port in ((a, ap), (b, bp)):
            if addr in self._addresses:  # bound to every address of this host
                yield proto, "", port, "", 0

    def _apply(
        self,
        changed: list[tuple[Connection, Connection]],
        opened: list[Connection],
        closed: list[Connection],
        now_ns: int,
    ) -> list[ConnectionEvent]:
        self.owners.forget(c.inode for c in closed if c.inode)
        self.owners.forget(old.inode for old, new in changed if old.inode not in (0, new.inode))
        events = [ConnectionEvent("closed", c, self._drop(c, now_ns), now_ns) for c in closed]
        for old, new in changed:
            self._add(new, self._drop(old, None))
        moved = [new for old, new in changed if _handle(new) not in (None, _handle(old))]
        self._attribute(opened + moved, now_ns)
        events += [
            ConnectionEvent("changed", new, self._open[new], now_ns, old.state)
            for old, new in changed
        ]
        events += [ConnectionEvent("opened", c, self._open[c], now_ns) for c in opened]
        return events

    def _attribute(self, conns: list[Connection], now_ns: int) -> None:
        """Look up owners. Where a lookup fails, the row keeps the owner it had, and is asked
        for again at later polls if it names a socket (the owner cache paces the retries)."""
        for conn, owner in zip(conns, self.owners.owners(conns, now_ns), strict=True):
            if owner is None and _handle(conn) is not None:
                self._unowned.add(conn)
            else:
                self._unowned.discard(conn)
            self._add(conn, owner if owner is not None else self._open.get(conn))

    def _add(self, conn: Connection, owner: Process | None) -> None:
        if conn not in self._open:
            self._index.setdefault(_key(conn), []).append(conn)
        self._open[conn] = owner

    def _drop(self, conn: Connection, now_ns: int | None) -> Process | None:
        """Take a row out; remember its owner if it closed (`now_ns` given)."""
        owner = self._open.pop(conn)
        self._unowned.discard(conn)
        key = _key(conn)
        same = self._index[key]
        same.remove(conn)
        if not same:
            del self._index[key]
        if owner is not None and now_ns is not None:
            self._gone.pop(key, None)
            self._gone[key] = (now_ns, owner)
        return owner

    def _expire(self, now_ns: int) -> None:
        while self._gone:
            key, (closed_ns, _) = next(iter(self._gone.items()))
            if now_ns - closed_ns <= self.remember_ns and len(self._gone) <= self.remember_max:
                break
            del self._gone[key]

    def _refresh_addresses(self, now_ns: int) -> None:
        if self._addresses_at is not None and now_ns - self._addresses_at < self.addresses_ns:
            return
        self._addresses_at = now_ns
        self._addresses = LOOPBACK | local_addresses()


def pair(
    removed: Iterable[Connection], added: Iterable[Connection]
) -> tuple[list[tuple[Connection, Connection]], list[Connection], list[Connection]]:
    """Split vanished and new rows into (changed pairs, opened, closed). A pair is one socket
    in a new state: the same 5-tuple and inode, or the socket moving between the kernel
    (inode 0: not yet accepted, or closed by its process and left in FIN_WAIT or LAST_ACK)
    and a process."""
    gone: dict[tuple[object, ...], list[Connection]] = {}
    for c in removed:
        gone.setdefault(c[:5], []).append(c)
    changed, opened = [], []
    for c in added:
        same = gone.get(c[:5], [])
        old = next((o for o in same if o.inode == c.inode or not (o.inode and c.inode)), None)
        if old is None:
            opened.append(c)
        else:
            same.remove(old)
            changed.append((old, c))
    return changed, opened, [c for same in gone.values() for c in same]


def local_addresses() -> frozenset[str]:
    """This host's interface addresses, normalised (no IPv6 zone)."""
    nics = psutil.net_if_addrs().values()
    addrs = (a.address for nic in nics for a in nic if a.family in (AF_INET, AF_INET6))
    return frozenset(_norm(a.split("%", 1)[0]) for a in addrs)


def _handle(c: Connection) -> tuple[int, int] | None:
    """What an owner is looked up by; None when the row names no socket a process holds."""
    return (c.inode, c.pid) if c.inode or c.pid else None


def _key(c: Connection) -> Key:
    return c.proto, _norm(c.local), c.lport, _norm(c.remote), c.rport


def _norm(addr: str) -> str:
    """One spelling per address: IPv4-mapped IPv6 as IPv4, the unspecified addresses as ""."""
    if addr.startswith(MAPPED) and "." in addr:
        addr = addr[len(MAPPED) :]
    return WILDCARDS.get(addr, addr)
