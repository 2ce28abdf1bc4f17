"""The kernel's socket table as NETLINK_SOCK_DIAG tells it: bytes in, `Connection` records out.

Sans-IO: `tcp_request` and `dump_request` make the bytes to send, `parse_dump` reads what one
`recv` gave; the socket itself is in `agent.daemon.sockets`. A dump lists sockets as
`inet_diag_msg` records (linux/inet_diag.h): 5-tuple, state, uid and socket inode, which is
all ss(8) shows, at a fraction of the cost of reading /proc/net/tcp.

The kernel walks its whole TCP hash table for each TCP dump, empty buckets too (262,144 of
them on a 24 GB host: 2 ms), so TCP is asked for once for both families, with the older
TCPDIAG_GETSOCK request, which leaves the family open; UDP's table is small, and is asked
for per family with SOCK_DIAG_BY_FAMILY (`inet_diag_req_v2`).

Netlink fields are in host byte order, ports and addresses in network order. The records are
fixed-size, so each is one `struct` unpack after its length has been checked: a damaged answer
is a `DecodeError`, never an IndexError or a struct.error. Attributes after the fixed part are
not asked for and are skipped by their length.
"""

from __future__ import annotations

import socket
import struct
from socket import ntohs
from typing import NamedTuple

from agent.wire.cursor import DecodeError

LAYER = "sock_diag"
NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
TCPDIAG_GETSOCK = 18
NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE = 1, 2, 3
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
TCP_TIME_WAIT, TCP_NEW_SYN_RECV = 6, 12
STATES = sum(1 << state for state in range(1, TCP_NEW_SYN_RECV) if state != TCP_TIME_WAIT)
"""The states asked for: every state a process can hold a socket in, or has just let go of
(FIN_WAIT, LAST_ACK). Not TIME_WAIT and half-open requests (TCP_NEW_SYN_RECV): no process
holds those, a busy host has many more of them than connections, and the owners of the
connections they were are remembered anyway. Not TCP_BOUND_INACTIVE (13) either: sockets
bound but neither listening nor connected, which /proc/net/tcp does not list."""

TCP_STATES = (
    "", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE",
    "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "SYN_RECV",
)  # fmt: skip
"""Kernel state number -> psutil's name, so both sources agree. 12 is TCP_NEW_SYN_RECV, a
half-open request, which /proc/net/tcp also shows as SYN_RECV."""
UDP_STATE = "NONE"
"""UDP has no state (psutil's CONN_NONE); a connected UDP socket shows its remote end."""
States = tuple[str, ...]
UDP_STATES: States = (UDP_STATE,) * 256
MAX_TEXT = 1 << 14
"""Addresses remembered per family; more, and the memory starts over."""

_HEADER = struct.Struct("=IHHII")  # nlmsghdr: len, type, flags, seq, port id
_REQUEST = struct.Struct("=BBBBI48x")  # inet_diag_req_v2: family, protocol, ext, pad, states, id
_TCP_REQUEST = struct.Struct("=4x48xI4x")  # inet_diag_req: 4 x u8, id, states, dbs
_MESSAGE = struct.Struct("=16xBB2xHH16s16s24xII")  # nlmsghdr, inet_diag_msg to uid and inode
_RECORD_SIZE = _MESSAGE.size
_BODY_SIZE = _RECORD_SIZE - _HEADER.size
_new = tuple.__new__
_ERRNO = struct.Struct("=i")
_ANY: dict[int, str] = {socket.AF_INET: "0.0.0.0", socket.AF_INET6: "::"}
_TEXT: dict[int, dict[bytes, str]] = {socket.AF_INET: {}, socket.AF_INET6: {}}
"""Address text by family and raw 16 bytes."""


class Connection(NamedTuple):
    """One row of the host's TCP/UDP socket table (one socket, or a kernel-held orphan)."""

    proto: int
    """6 (TCP) or 17 (UDP)."""
    local: str
    lport: int
    remote: str
    """`0.0.0.0` or `::` with `rport` 0 when not connected (listeners, most UDP sockets)."""
    rport: int
    state: str
    """psutil's names: ESTABLISHED, LISTEN, FIN_WAIT2 ...; NONE for UDP."""
    uid: int
    """The socket's owner uid; -1 when the source does not say (psutil)."""
    inode: int
    """The socket's inode, which /proc/<pid>/fd links name; 0 when no process holds it (not
    yet accepted, or closed and left to the kernel: FIN_WAIT, TIME_WAIT) or the source does
    not say."""
    pid: int = 0
    """The owner's pid when the source tells it directly (psutil); 0 otherwise."""


class DumpPart(NamedTuple):
    """What one read of a dump gave."""

    connections: list[Connection]
    done: bool
    """The dump is over (NLMSG_DONE, or an error reply)."""
    error: int
    """The errno the kernel answered with (EPERM, ENOENT ...), 0 if none."""


def dump_request(family: int, proto: int, seq: int, states: int = STATES) -> bytes:
    """The message asking for the sockets of `family` (AF_INET/AF_INET6) and `proto` in
    `states` (a mask: bit n for state n)."""
    return _message(SOCK_DIAG_BY_FAMILY, seq, _REQUEST.pack(family, proto, 0, 0, states))


def tcp_request(seq: int, states: int = STATES) -> bytes:
    """The message asking for the TCP sockets of both families in `states`, in one walk of
    the kernel's table (an `inet_diag_req`, whose family the kernel leaves unset)."""
    return _message(TCPDIAG_GETSOCK, seq, _TCP_REQUEST.pack(states))


def _message(kind: int, seq: int, body: bytes) -> bytes:
    flags = NLM_F_REQUEST | NLM_F_DUMP
    return _HEADER.pack(_HEADER.size + len(body), kind, flags, seq, 0) + body


def parse_dump(data: bytes, proto: int, seq: int) -> DumpPart:
    """The sockets in one read of the answer to request `seq` for protocol `proto`.

    One loop with no call per record but the unpacks: this runs for every socket of the host
    at every poll (a namedtuple's own constructor would cost more than the rest of it)."""
    out: list[Connection] = []
    states = TCP_STATES if proto == socket.IPPROTO_TCP else UDP_STATES
    pos, end = 0, len(data)
    while pos < end:
        if end - pos < _HEADER.size:
            raise DecodeError(LAYER, pos, f"netlink header cut short: {end - pos} bytes")
        length, kind, _flags, seq_, _port = _HEADER.unpack_from(data, pos)
        if not _HEADER.size <= length <= end - pos:
            raise DecodeError(LAYER, pos, f"netlink length {length}, {end - pos} bytes left")
        if seq_ != seq:
            raise DecodeError(LAYER, pos, f"answer to request {seq_}, not {seq}")
        if kind == SOCK_DIAG_BY_FAMILY or kind == TCPDIAG_GETSOCK:
            if length < _RECORD_SIZE:
                short = f"inet_diag_msg of {length - _HEADER.size} bytes, need {_BODY_SIZE}"
                raise DecodeError(LAYER, pos, short)
            family, state, sport, dport, src, dst, uid, inode = _MESSAGE.unpack_from(data, pos)
            text = _TEXT.get(family)
            if text is None:
                raise DecodeError(LAYER, pos, f"address family {family} in an inet dump")
            name = states[state] if 0 < state < len(states) else f"STATE_{state}"
            local = text.get(src) or _address(family, src)
            remote = text.get(dst) or _address(family, dst)
            row = (proto, local, ntohs(sport), remote, ntohs(dport), name, uid, inode, 0)
            out.append(_new(Connection, row))
        elif kind == NLMSG_DONE or kind == NLMSG_ERROR:
            return DumpPart(out, True, _errno(data, pos, length, kind))
        elif kind != NLMSG_NOOP:
            raise DecodeError(LAYER, pos, f"unexpected netlink message type {kind}")
        pos += (length + 3) & ~3
    return DumpPart(out, False, 0)


def _address(family: int, raw: bytes) -> str:
    """Text of an address (the first 4 of the 16 bytes for IPv4), remembered: a host's
    sockets share few addresses, and inet_ntop is the dearest step of a record."""
    text = _TEXT[family]
    if len(text) >= MAX_TEXT:
        text.clear()
    text[raw] = socket.inet_ntop(family, raw[:4] if family == socket.AF_INET else raw)
    return text[raw]


def _errno(data: bytes, pos: int, length: int, kind: int) -> int:
    """NLMSG_DONE and NLMSG_ERROR both start with a negative errno; DONE has 0 for success,
    and an ERROR of 0 would be an acknowledgement, which a dump never asks for."""
    name = "NLMSG_DONE" if kind == NLMSG_DONE else "NLMSG_ERROR"
    if length - _HEADER.size < _ERRNO.size:
        raise DecodeError(LAYER, pos, f"{name} without its error code")
    code: int = _ERRNO.unpack_from(data, pos + _HEADER.size)[0]
    if code > 0 or (code == 0 and kind == NLMSG_ERROR):
        raise DecodeError(LAYER, pos, f"{name} with error code {code}")
    return -code


def any_address(family: int) -> str:
    """The text of the unspecified address of `family`, as a not-connected socket shows it."""
    return _ANY[family]
