"""The sock_diag parser on a real answer of this kernel, whole, cut short and damaged: the only
outcomes are records or a DecodeError."""

from __future__ import annotations

import errno
import os
import socket
import struct
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.daemon.sockdiag import (
    NETLINK_SOCK_DIAG,
    NLMSG_DONE,
    NLMSG_ERROR,
    NLMSG_NOOP,
    SOCK_DIAG_BY_FAMILY,
    STATES,
    TCPDIAG_GETSOCK,
    DumpPart,
    dump_request,
    parse_dump,
    tcp_request,
)
from agent.daemon.sockets import RECV_SIZE
from agent.wire.cursor import DecodeError
from tests.daemon.conftest import USABLE_FAMILIES, Sockets, check_row, five, needs_linux

SEQ = 7
TCP, UDP = socket.IPPROTO_TCP, socket.IPPROTO_UDP
HEADER = struct.Struct("=IHHII")


def record(family: int, proto: int) -> bytes:
    """The kernel's whole answer to one dump request, as it came, in one buffer; family
    AF_UNSPEC: the TCP request for both families."""
    request = tcp_request(SEQ) if family == socket.AF_UNSPEC else dump_request(family, proto, SEQ)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG) as nl:
        nl.settimeout(2)
        nl.send(request)
        chunks = [nl.recv(RECV_SIZE)]
        while not parse_dump(chunks[-1], proto, SEQ).done:
            chunks.append(nl.recv(RECV_SIZE))
    return b"".join(chunks)


def messages(data: bytes) -> list[bytes]:
    """A whole answer split into its netlink messages, padding included."""
    out, pos = [], 0
    while pos < len(data):
        size = (HEADER.unpack_from(data, pos)[0] + 3) & ~3
        out.append(data[pos : pos + size])
        pos += size
    return out


@pytest.fixture(scope="module")
def answer() -> bytes:
    """A real TCP answer cut down to the messages of a listener and both ends of a connection
    of this test, over IPv4 and IPv6, and the kernel's NLMSG_DONE: the host's other sockets
    would only make it long."""
    if not hasattr(socket, "AF_NETLINK"):
        pytest.skip("sock_diag is Linux only")
    made = Sockets()
    try:
        ours = {five(s) for family in USABLE_FAMILIES for s in made.tcp(family)}
        *records, done = messages(record(socket.AF_UNSPEC, TCP))
    finally:
        for s in made.open:
            s.close()
    mine = [m for m in records if parse_dump(m, TCP, SEQ).connections[0][:5] in ours]
    assert len(mine) == len(ours) and HEADER.unpack_from(done)[1] == NLMSG_DONE
    return b"".join(mine) + done


def message(kind: int, body: bytes, seq: int = SEQ) -> bytes:
    padded = body + bytes(-len(body) % 4)
    return HEADER.pack(HEADER.size + len(body), kind, 2, seq, 0) + padded


def outcome(data: bytes, proto: int = TCP) -> DumpPart | DecodeError:
    try:
        part = parse_dump(data, proto, SEQ)
    except DecodeError as err:
        assert 0 <= err.offset <= len(data)
        return err
    for row in part.connections:
        assert row.proto == proto and 0 <= row.lport <= 0xFFFF and 0 <= row.rport <= 0xFFFF
    assert part.error >= 0
    return part


@needs_linux
def test_request_is_an_inet_diag_req_v2() -> None:
    req = dump_request(socket.AF_INET6, UDP, 42)
    assert HEADER.unpack_from(req) == (72, SOCK_DIAG_BY_FAMILY, 0x301, 42, 0)
    assert req[16:18] == bytes([socket.AF_INET6, UDP]) and len(req) == 16 + 56
    req = tcp_request(43)
    assert HEADER.unpack_from(req) == (76, TCPDIAG_GETSOCK, 0x301, 43, 0)
    assert req[16] == socket.AF_UNSPEC and req[68:72] == STATES.to_bytes(4, sys.byteorder)


@needs_linux
def test_one_tcp_dump_holds_both_families(sockets: Sockets) -> None:
    pairs = [sockets.tcp(family) for family in USABLE_FAMILIES]
    rows = parse_dump(record(socket.AF_UNSPEC, TCP), TCP, SEQ).connections
    assert {five(s) for p in pairs for s in p} <= {r[:5] for r in rows}


@needs_linux
@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6])
@pytest.mark.parametrize("proto", [TCP, UDP])
def test_every_real_answer_parses(family: int, proto: int, sockets: Sockets) -> None:
    sockets.tcp(family) if proto == TCP else sockets.udp(family)
    part = parse_dump(record(family, proto), proto, SEQ)
    assert part.done and part.error == 0 and part.connections
    for row in part.connections:
        check_row(row)


@needs_linux
def test_answer_holds_the_sockets(answer: bytes) -> None:
    part = parse_dump(answer, TCP, SEQ)
    by_local = sorted((r.local, r.state) for r in part.connections)
    pairs = len(part.connections) // 3
    assert part.done and len({local for local, _ in by_local}) == pairs
    assert by_local[:3] == [("127.0.0.1", "ESTABLISHED")] * 2 + [("127.0.0.1", "LISTEN")]


def test_cut_at_every_byte(answer: bytes) -> None:
    """Cut at a message boundary: the records before it; anywhere else: a DecodeError."""
    parts = messages(answer)
    ends = {sum(map(len, parts[:n])) for n in range(len(parts))}
    for cut in range(len(answer)):
        got = outcome(answer[:cut])
        assert isinstance(got, DumpPart) == (cut in ends)
        if isinstance(got, DumpPart):
            assert not got.done and len(got.connections) == sorted(ends).index(cut)
    assert outcome(answer) == parse_dump(answer, TCP, SEQ)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_damaged_answers_give_records_or_decode_error(answer: bytes, data: st.DataObject) -> None:
    damaged = bytearray(answer[: data.draw(st.integers(0, len(answer)), label="cut")])
    flips = st.tuples(st.integers(0, max(0, len(damaged) - 1)), st.integers(0, 255))
    for pos, value in data.draw(st.lists(flips, max_size=8), label="flips"):
        if damaged:
            damaged[pos] = value
    outcome(bytes(damaged))
    outcome(bytes(damaged), UDP)


@given(st.binary(max_size=300))
def test_random_bytes_give_records_or_decode_error(data: bytes) -> None:
    outcome(data)


def test_kernel_errors_are_data() -> None:
    refused = message(NLMSG_ERROR, struct.pack("=i", -errno.EPERM) + bytes(16))
    assert parse_dump(refused, TCP, SEQ) == DumpPart([], True, errno.EPERM)
    failed = message(NLMSG_DONE, struct.pack("=i", -errno.ENOENT))
    assert parse_dump(failed, TCP, SEQ) == DumpPart([], True, errno.ENOENT)
    assert parse_dump(message(NLMSG_DONE, bytes(4)), TCP, SEQ) == DumpPart([], True, 0)
    assert parse_dump(message(NLMSG_NOOP, b""), TCP, SEQ) == DumpPart([], False, 0)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (message(NLMSG_DONE, b""), "NLMSG_DONE without its error code"),
        (message(NLMSG_ERROR, bytes(20)), "NLMSG_ERROR with error code 0"),
        (message(NLMSG_DONE, bytes(4), seq=SEQ + 1), "answer to request 8, not 7"),
        (message(99, b""), "unexpected netlink message type 99"),
        (message(SOCK_DIAG_BY_FAMILY, bytes(71)), "inet_diag_msg of 71 bytes, need 72"),
        (message(SOCK_DIAG_BY_FAMILY, bytes([1]) + bytes(71)), "address family 1"),
        (HEADER.pack(400, NLMSG_DONE, 0, SEQ, 0) + bytes(4), "netlink length 400, 20 bytes left"),
        (HEADER.pack(8, NLMSG_DONE, 0, SEQ, 0), "netlink length 8, 16 bytes left"),
        (bytes(10), "netlink header cut short: 10 bytes"),
    ],
)
def test_damage_is_named(data: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        parse_dump(data, TCP, SEQ)


def test_unknown_states_are_named_not_fatal() -> None:
    sockid = struct.pack(">HH", 1, 2) + bytes([127, 0, 0, 1]) + bytes(12) + bytes(16) + bytes(12)
    body = bytes([socket.AF_INET, 42, 0, 0]) + sockid + bytes(12) + struct.pack("=II", 5, 6)
    (row,) = parse_dump(message(SOCK_DIAG_BY_FAMILY, body), TCP, SEQ).connections
    assert row == (TCP, "127.0.0.1", 1, "0.0.0.0", 2, "STATE_42", 5, 6, 0)


@needs_linux
def test_own_uid_and_inode(sockets: Sockets) -> None:
    pair = sockets.tcp()
    rows = parse_dump(record(socket.AF_INET, TCP), TCP, SEQ).connections
    (row,) = [r for r in rows if r[:5] == five(pair.client)]
    assert row.uid == os.getuid()
    assert os.readlink(f"/proc/self/fd/{pair.client.fileno()}") == f"socket:[{row.inode}]"
