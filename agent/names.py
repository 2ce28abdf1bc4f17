"""Names on the wire, attached to flows: DNS answers bind names to addresses; a TLS or QUIC
ClientHello's server name and an HTTP Host name the flow that carries them.

Sans-IO: fed record batches and the decoder rows the flow table has numbered (SERIAL, FORWARD).
Only rows that can still give a name reach Python: DNS on port 53, and the client's first bytes
of flows not yet decided; a flow is decided at its first name or at the first bytes that are
neither TLS nor HTTP nor a QUIC Initial.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from typing import Any

import numpy as np
import numpy.typing as npt

from agent.capture.batch import RecordBatch
from agent.wire import decode as D
from agent.wire.cursor import DecodeError
from agent.wire.dns import AAAA, CNAME, A, DnsMessage, dns_over_tcp, parse_dns, valid_hostname
from agent.wire.http import parse_http_request
from agent.wire.quic import CryptoAssembler, parse_initial
from agent.wire.tls import parse_client_hello
from agent.wire.transport import IP_TCP, IP_UDP, TH_ACK, TH_SYN

DNS_PORT = 53
FIRST_BYTES = 16 * 1024
"""What is kept of a client's stream while waiting for a whole ClientHello or request head."""

ANSWER_CACHE = 4096
"""DNS responses remembered by content: resolvers repeat the same answers."""

Name = tuple[str, str]
"""(source, name): source is "dns", "sni", "sni-ech" (the outer name of an Encrypted Client
Hello: weaker evidence), "quic" or "http"."""


class TcpStart:
    """The first client bytes of a TCP flow, in sequence order, whatever order segments came in
    (retransmitted bytes land on themselves)."""

    def __init__(self, start: int | None = None) -> None:
        self.known = start is not None
        """The stream's first sequence number is known (the SYN was seen): nothing before it."""
        self.base: int | None = start
        self.segments: dict[int, bytes] = {}

    def add(self, seq: int, data: bytes) -> bytes:
        """Add a segment; -> the contiguous bytes from the stream's start (or from the earliest
        segment seen, when the capture began after the SYN)."""
        if self.known and self.base is not None:
            before = (self.base - seq) % (1 << 32)
            if 0 < before < 1 << 31:  # starts before the first byte: only its tail is new
                seq, data = self.base, data[before:]
        elif self.base is None or (seq - self.base) % (1 << 32) > 1 << 31:  # an earlier one
            self.base = seq
        base = self.base
        self.segments[seq] = data
        out = bytearray()
        for s in sorted(self.segments, key=lambda s: (s - base) % (1 << 32)):
            offset = (s - base) % (1 << 32)
            if offset > len(out):
                break  # a gap: wait for the bytes in it
            out += self.segments[s][len(out) - offset :]
        return bytes(out[:FIRST_BYTES])


class NameFinder:
    def __init__(self, untrusted: Counter[str] | None = None) -> None:
        self.names: dict[int, list[Name]] = {}
        """Flow serial -> names seen in the flow itself."""
        self.bindings: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
        """Address -> (time, names) for each DNS answer that gave it."""
        self.untrusted: Counter[str] = Counter() if untrusted is None else untrusted
        self._decided = np.zeros(1 << 16, bool)
        """By flow serial: has the flow given its name (or shown it has none)?"""
        self._tcp: dict[int, TcpStart] = {}
        self._quic: dict[int, CryptoAssembler] = {}
        self._answers: dict[bytes, list[tuple[str, tuple[str, ...]]]] = {}
        self._dns_streams: dict[tuple[int, int], list[Any]] = {}

    def feed(self, batch: RecordBatch, rows: D.Rows) -> None:
        ok = (rows[:, D.REASON] == 0) & (rows[:, D.PAYLOAD_LEN] > 0)
        proto = rows[:, D.PROTO]
        udp = ok & (proto == IP_UDP)
        port53 = (rows[:, D.SPORT] == DNS_PORT) | (rows[:, D.DPORT] == DNS_PORT)
        dns = udp & port53
        dns_tcp = ok & (proto == IP_TCP) & port53
        first = ok & (rows[:, D.FORWARD] == 1) & ~port53 & ((proto == IP_TCP) | udp)
        dns &= _answers(batch.data, rows)
        serial = rows[:, D.SERIAL].astype(np.int64)
        if len(serial) and serial.max() >= len(self._decided):
            grown = np.zeros(max(2 * len(self._decided), int(serial.max()) + 1), bool)
            grown[: len(self._decided)] = self._decided
            self._decided = grown
        first &= ~self._decided[serial]
        flags = rows[:, D.TCP_FLAGS]
        syn = (rows[:, D.REASON] == 0) & (proto == IP_TCP) & (rows[:, D.FORWARD] == 1)
        syn &= (flags & TH_SYN != 0) & (flags & TH_ACK == 0) & ~self._decided[serial]
        for s, seq in rows[syn][:, (D.SERIAL, D.TCP_SEQ)].tolist():
            self._tcp.setdefault(s, TcpStart((seq + 1) % (1 << 32)))
        self._dns(batch, rows[dns][:, (D.REC, D.PAYLOAD, D.PAYLOAD_LEN)])
        for row in rows[dns_tcp].tolist():
            self._dns_tcp(batch, row)
        for row in rows[first].tolist():
            if not self._decided[row[D.SERIAL]]:
                self._first_bytes(batch, row)

    def names_of(self, serial: int, responder: str, first_ns: int) -> tuple[Name, ...]:
        """The names of a flow that ended: its own, then the ones DNS last bound to its responder
        before it began. What was kept while the flow was open is let go."""
        own = self.names.pop(serial, [])
        self._tcp.pop(serial, None)
        self._quic.pop(serial, None)
        for forward in (0, 1):
            self._dns_streams.pop((serial, forward), None)
        bound = [b for b in self.bindings.get(responder, []) if b[0] <= first_ns]
        dns = [("dns", n) for n in max(bound)[1]] if bound else []
        return tuple(own + dns)

    def _payload(self, batch: RecordBatch, row: list[int]) -> bytes:
        start = row[D.PAYLOAD]
        return bytes(batch.data[start : start + row[D.PAYLOAD_LEN]])

    def _decide(self, serial: int, name: Name | None) -> None:
        self._decided[serial] = True
        self._tcp.pop(serial, None)
        self._quic.pop(serial, None)
        if name is None:
            return
        if valid_hostname(name[1]):
            self.names.setdefault(serial, []).append(name)
        else:
            self.untrusted[name[0]] += 1

    def _dns(self, batch: RecordBatch, picked: D.Rows) -> None:
        """DNS responses over UDP, as (record, payload offset, payload length) rows. The hot
        path of name extraction: most answers repeat, and a repeat is one dict lookup."""
        data, ts_ns, cache, bindings = batch.data, batch.ts_ns, self._answers, self.bindings
        for rec, start, size in picked.tolist():
            key = data[start + 2 : start + size].tobytes()  # the answer, whatever the query id
            found = cache.get(key)
            if found is None:
                found = cache[key] = self._read_answers(data[start : start + size].tobytes())
                if len(cache) > ANSWER_CACHE:
                    del cache[next(iter(cache))]
            for address, names in found:
                seen = bindings.setdefault(address, [])
                if not seen or seen[-1][1] != names:  # a repeat of the last answer adds nothing
                    seen.append((int(ts_ns[rec]), names))

    def _dns_tcp(self, batch: RecordBatch, row: list[int]) -> None:
        """DNS over TCP: each direction put in order, then split at its 2-byte length prefixes;
        only the first FIRST_BYTES of a connection are read."""
        key = (row[D.SERIAL], row[D.FORWARD])
        stream = self._dns_streams.setdefault(key, [TcpStart(), 0])
        data = stream[0].add(row[D.TCP_SEQ], self._payload(batch, row))
        try:
            messages, used = dns_over_tcp(data[stream[1] :])
        except DecodeError:
            self.untrusted["dns_malformed"] += 1
            return
        stream[1] += used
        ts = int(batch.ts_ns[row[D.REC]])
        for message in messages:
            if message.is_response:
                for address, names in _bound(message, self.untrusted):
                    self.bindings.setdefault(address, []).append((ts, names))

    def _read_answers(self, message: bytes) -> list[tuple[str, tuple[str, ...]]]:
        """(address, the names that lead to it) for each trusted A/AAAA answer."""
        try:
            msg = parse_dns(message, partial=True)
        except DecodeError:
            self.untrusted["dns_malformed"] += 1
            return []
        return _bound(msg, self.untrusted)

    def _first_bytes(self, batch: RecordBatch, row: list[int]) -> None:
        serial, data = row[D.SERIAL], self._payload(batch, row)
        try:
            if row[D.PROTO] == IP_UDP:
                self._quic_initial(serial, data)
            else:
                seq, start = row[D.TCP_SEQ], self._tcp.get(serial)
                in_order = start is None or (not start.segments and start.base == seq)
                if in_order and self._tcp_start(serial, data):
                    return  # the usual case: a whole ClientHello or request head in one segment
                stream = self._tcp.setdefault(serial, TcpStart()).add(seq, data)
                self._tcp_start(serial, stream)
        except DecodeError:
            self._decide(serial, None)

    def _tcp_start(self, serial: int, stream: bytes) -> bool:
        """Read a TCP client's first bytes; -> whether the flow is decided."""
        if stream[:1] == b"\x16":
            hello = parse_client_hello(stream)
            if hello is not None:
                source = "sni-ech" if hello.ech else "sni"  # ECH: only the outer, public name
                self._decide(serial, (source, hello.server_name) if hello.server_name else None)
                return True
        else:
            request = parse_http_request(stream)
            if request is not None:
                self._decide(serial, ("http", request.host) if request.host else None)
                return True
        if len(stream) >= FIRST_BYTES:
            self._decide(serial, None)
            return True
        return False

    def _quic_initial(self, serial: int, datagram: bytes) -> None:
        if datagram[0] & 0xC0 != 0xC0:
            self._decide(serial, None)  # a short header: the handshake is over
            return
        packet = parse_initial(datagram)
        crypto = self._quic.setdefault(serial, CryptoAssembler())
        for offset, data in packet.crypto:
            crypto.add(offset, data)
        hello = crypto.client_hello()
        if hello is not None:
            self._decide(serial, ("quic", hello.server_name) if hello.server_name else None)


def _bound(msg: DnsMessage, untrusted: Counter[str]) -> list[tuple[str, tuple[str, ...]]]:
    """(address, the names that lead to it through CNAMEs) for each trusted A/AAAA answer."""
    alias: dict[str, set[str]] = {}  # name -> the names that lead to it
    for rr in msg.answers:
        if rr.type == CNAME and rr.data and rr.trusted:
            alias.setdefault(rr.data, set()).update({rr.name, *alias.get(rr.name, ())})
    found = []
    for rr in msg.answers:
        if rr.type in (A, AAAA) and rr.data:
            if not rr.trusted:
                untrusted["dns"] += 1
                continue
            names = tuple(sorted({rr.name, *alias.get(rr.name, ())}))
            found.append((str(ipaddress.ip_address(rr.data)), names))
    return found


def _answers(data: npt.NDArray[np.uint8], rows: D.Rows) -> npt.NDArray[np.bool_]:
    """Rows whose payload is a DNS response with answers, judged from its header in numpy."""
    at = rows[:, D.PAYLOAD].astype(np.int64)
    whole = rows[:, D.PAYLOAD_LEN] >= 12
    at = np.where(whole, at, 0)
    response = data[at + 2] & 0x80 != 0
    answers = (data[at + 6].astype(np.int64) << 8 | data[at + 7]) > 0
    found: npt.NDArray[np.bool_] = whole & response & answers
    return found
