"""Which process holds a socket: inode -> pid from /proc/<pid>/fd, pid -> `Process` from psutil.

The fd scan is the expensive part (one readlink per open fd on the host), so it runs only when
sockets with unknown inodes appear, looks first in the processes that already own sockets, and
stops once every wanted inode is found. Both caches are pruned: an inode when its socket
closes, a pid when its process dies. An inode no process was found to hold (another pid
namespace, a socket passed on and closed at once) is asked for again after `retry_ns`, then
after twice as long each time up to `MAX_RETRY`, so it cannot make every poll a full scan.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import psutil

from agent.daemon.sockdiag import Connection
from agent.model import Process

T = TypeVar("T")
SECOND = 1_000_000_000
SOCKET_LINK = "socket:["
MAX_RETRY = 600 * SECOND


class OwnerCache:
    """The owners of sockets, remembered while the socket and the process live."""

    def __init__(self, proc: str = "/proc", retry_ns: int = 10 * SECOND) -> None:
        self.proc = proc
        self.retry_ns = retry_ns
        self._procfs = os.path.isdir(proc)
        self._pid_of: dict[int, int] = {}
        """inode -> pid."""
        self._inodes_of: dict[int, set[int]] = {}
        """pid -> its known socket inodes, to let go of a pid with its last socket."""
        self._missed: dict[int, tuple[int, int]] = {}
        """inode -> (time of the last scan that did not find it, wait before the next)."""
        self._processes: dict[int, Process] = {}
        self.scans = 0
        """/proc fd scans done: each one is the only cost that grows with the host's fds."""

    @property
    def pids(self) -> frozenset[int]:
        """The processes described and kept now."""
        return frozenset(self._processes)

    def owners(self, conns: Sequence[Connection], now_ns: int) -> list[Process | None]:
        """The process holding each connection, None where unknown; at most one scan."""
        wanted = {c.inode for c in conns if c.inode and self._unknown(c.inode, now_ns)}
        if wanted:
            self._scan(wanted, now_ns)
        return [self._owner(c) for c in conns]

    def forget(self, inodes: Iterable[int]) -> None:
        """Let go of closed sockets, and of their process once it holds no other."""
        for inode in inodes:
            self._missed.pop(inode, None)
            pid = self._pid_of.pop(inode, None)
            held = self._inodes_of.get(pid, set()) if pid is not None else set()
            held.discard(inode)
            if pid is not None and not held:
                self._inodes_of.pop(pid, None)
                self._processes.pop(pid, None)

    def reap(self) -> set[int]:
        """Drop the processes that have exited (and their inodes); return their pids."""
        dead = {pid for pid in self._processes if not self._alive(pid)}
        for pid in dead:
            del self._processes[pid]
            for inode in self._inodes_of.pop(pid, ()):
                del self._pid_of[inode]
        return dead

    def _unknown(self, inode: int, now_ns: int) -> bool:
        missed = self._missed.get(inode)
        return inode not in self._pid_of and (missed is None or now_ns - missed[0] >= missed[1])

    def _owner(self, c: Connection) -> Process | None:
        pid = c.pid or self._pid_of.get(c.inode, 0)
        if not pid:
            return None
        if pid not in self._processes:
            self._processes[pid] = describe(pid)
        return self._processes[pid]

    def _scan(self, wanted: set[int], now_ns: int) -> None:
        self.scans += 1
        left = {f"{SOCKET_LINK}{inode}]": inode for inode in wanted}
        for pid in self._pids():
            for inode in take_held(f"{self.proc}/{pid}/fd", left):
                self._pid_of[inode] = pid
                self._inodes_of.setdefault(pid, set()).add(inode)
            if not left:
                break
        for inode in wanted:
            if inode in self._pid_of:
                self._missed.pop(inode, None)
            else:
                wait = self._missed.get(inode, (0, self.retry_ns // 2))[1]
                self._missed[inode] = (now_ns, min(2 * wait, MAX_RETRY))

    def _pids(self) -> list[int]:
        """Every pid in /proc, those already holding sockets first."""
        try:
            names = os.listdir(self.proc)
        except OSError:
            return []
        known = list(self._inodes_of)
        return known + [p for p in map(int, filter(str.isdigit, names)) if p not in self._inodes_of]

    def _alive(self, pid: int) -> bool:
        if self._procfs:
            return os.path.exists(f"{self.proc}/{pid}")
        return bool(psutil.pid_exists(pid))


def take_held(fd_dir: str, links: dict[str, int]) -> list[int]:
    """The inodes of the `links` (fd link text -> socket inode) a process holds, taken out of
    `links`; the reading stops when none is left. None if the process is gone or unreadable."""
    try:
        dir_fd = os.open(fd_dir, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return []
    found = []
    try:
        for name in os.listdir(dir_fd):
            try:
                inode = links.pop(os.readlink(name, dir_fd=dir_fd), None)
            except OSError:  # closed since the listing
                continue
            if inode is not None:
                found.append(inode)
                if not links:
                    break
    except OSError:
        pass
    finally:
        os.close(dir_fd)
    return found


def describe(pid: int) -> Process:
    """What psutil can read about `pid`; fields it may not read (or that vanished) stay empty."""
    try:
        proc = psutil.Process(pid)
    except psutil.Error:
        return Process(pid, "")
    with proc.oneshot():
        return Process(
            pid,
            _read(proc.name, ""),
            _read(proc.exe, ""),
            _read(proc.username, ""),
            tuple(_read(proc.cmdline, [])),
            round(_read(proc.create_time, 0.0) * 1e6) * 1000,  # float seconds: µs at best
        )


def _read(get: Callable[[], T], default: T) -> T:
    try:
        return get()
    except (psutil.Error, OSError):  # AccessDenied, NoSuchProcess, ZombieProcess
        return default
