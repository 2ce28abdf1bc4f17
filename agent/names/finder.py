"""Names on the wire, attached to flows: DNS answers bind names to addresses; a TLS or QUIC
ClientHello's server name and an HTTP Host name the flow that carries them.

Sans-IO: fed record batches and the decoder rows the flow table has numbered (SERIAL, FORWARD).
Compiled code (`pick`) picks the rows that can still give a name: DNS on port 53, and the
client's first bytes of flows not yet decided; a flow is decided at its first name or at the
first bytes that are neither TLS nor HTTP nor a QUIC Initial. It also settles the common first
bytes itself (a ClientHello whole in one record, an HTTP request head whole in one segment, a
QUIC short header), and `repeat` skips the DNS answers that repeat, so Python parses only
the rest: reading names costs a few percent of `residency flows` (bench/bench_names.py).
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

import numpy as np

from agent.names.codes import COPIED, DECIDED, HTTP, NAMED, SNI_ECH
from agent.names.dns import Bindings, DnsBinder, payload
from agent.names.pick import PickState, first_name, pick
from agent.names.tcp import TcpStart
from agent.wire import rows as D
from agent.wire.batch import I64, RecordBatch
from agent.wire.batch import U8 as Buf
from agent.wire.cursor import DecodeError
from agent.wire.dns import valid_hostname
from agent.wire.http import host_text, normalize_host
from agent.wire.numbers import FOUND, IP_UDP
from agent.wire.quic import CryptoAssembler, parse_initial
from agent.wire.tls import MAX_CLIENT_HELLO, ascii_text

Name = tuple[str, str]
"""(source, name): source is "dns", "sni", "sni-ech" (the outer name of an Encrypted Client
Hello: weaker evidence), "quic" or "http"."""


class NameFinder:
    def __init__(self, untrusted: Counter[str] | None = None) -> None:
        self.names: dict[int, list[Name]] = {}
        """Flow serial -> names seen in the flow itself."""
        self.untrusted: Counter[str] = Counter() if untrusted is None else untrusted
        self._dns = DnsBinder(self.untrusted)
        self.bindings: Bindings = self._dns.bindings
        """Address -> (time, names) for each DNS answer that gave it."""
        self._pick = PickState()
        """What compiled code keeps per flow: decided, held by Python, where its stream starts."""
        self._tcp: dict[int, TcpStart] = {}
        self._quic: dict[int, CryptoAssembler] = {}
        self._scratch = np.empty(MAX_CLIENT_HELLO + 4, np.uint8)
        """Where `first_name` copies a ClientHello that spans records."""

    def feed(self, batch: RecordBatch, rows: D.Rows) -> None:
        self._pick.grow(int(rows[:, D.SERIAL].max()) + 1 if len(rows) else 0)
        picked = pick(rows, batch.data, self._pick)
        for serial, syn in picked.handed.tolist():
            self._tcp.setdefault(serial, TcpStart(syn))
        self._dns.udp(batch, rows[picked.dns][:, (D.REC, D.PAYLOAD, D.PAYLOAD_LEN)])
        for row in rows[picked.dns_tcp].tolist():
            self._dns.tcp(batch, row)
        self._picked(batch.data, rows[picked.named[:, 0], D.SERIAL], picked.named)
        flags = self._pick.flags
        for row in rows[picked.python].tolist():
            if not flags[row[D.SERIAL]] & DECIDED:
                self._first_bytes(batch, row)

    @property
    def held(self) -> int:
        """Bytes kept for open flows' first bytes: at most HELD_BYTES per TCP stream."""
        return sum(t.held for t in self._tcp.values()) + self._dns.held

    def names_of_flows(
        self, serials: I64, responders: list[str], first_ns: I64
    ) -> list[tuple[Name, ...]]:
        """The names of flows that ended, each its own, then the ones DNS last bound to its
        responder before it began; what was kept while they were open is let go. Most have no
        name, and are passed over in bulk."""
        if not len(serials):
            return []
        self._pick.grow(int(serials.max()) + 1)
        bound, flags = self.bindings, self._pick.flags
        named = set(np.flatnonzero(flags[serials] & NAMED).tolist())
        if bound:
            named.update(i for i, responder in enumerate(responders) if responder in bound)
        found: list[tuple[Name, ...]] = [()] * len(serials)
        for i in named:
            found[i] = self._names(int(serials[i]), responders[i], int(first_ns[i]))
        self._forget(serials)
        return found

    def _names(self, serial: int, responder: str, first_ns: int) -> tuple[Name, ...]:
        own = self.names.pop(serial, [])
        bound = [b for b in self.bindings.get(responder, ()) if b[0] <= first_ns]
        if not bound:
            return tuple(own)
        return (*own, *(("dns", n) for n in max(bound)[1]))

    def _forget(self, serials: I64) -> None:
        """Let go of what was kept for flows that ended; their rows are done."""
        self._pick.flags[serials] |= DECIDED
        if not (self._tcp or self._quic or self._dns.holds_streams):
            return  # the usual case: every flow was decided at its first bytes
        ended = set(serials.tolist())
        for held in (self._tcp, self._quic):
            for serial in held.keys() & ended:
                del held[serial]
        self._dns.forget(ended)

    def _decide(self, serial: int, name: Name | None) -> None:
        self._pick.flags[serial] |= DECIDED
        self._tcp.pop(serial, None)
        self._quic.pop(serial, None)
        if name is not None:
            self._found(serial, name)

    def _found(self, serial: int, name: Name) -> None:
        """The name of a decided flow: kept if it is a valid host name, else counted."""
        if _valid(name[1]):
            self.names.setdefault(serial, []).append(name)
            self._pick.flags[serial] |= NAMED
        else:
            self.untrusted[name[0]] += 1

    def _picked(self, data: Buf, serials: I64, named: I64) -> None:
        """The flows `pick` decided: (row, name offset, name length, source) rows."""
        view = data.data
        for serial, (_, at, size, source) in zip(serials.tolist(), named.tolist(), strict=True):
            if size:
                self._named(serial, view[at : at + size].tobytes(), source)

    def _named(self, serial: int, raw: bytes, source: int) -> None:
        """A decided flow's name as `first_name` found it: a SNI (with ECH, only the outer,
        public name) or a Host, which must normalise."""
        if source != HTTP:
            self._found(serial, ("sni-ech" if source == SNI_ECH else "sni", ascii_text(raw)))
            return
        try:
            host = normalize_host(host_text(raw))
        except DecodeError:
            return  # the parser refuses the request: the flow has no name
        if host:
            self._found(serial, ("http", host))

    def _first_bytes(self, batch: RecordBatch, row: list[int]) -> None:
        serial, data = row[D.SERIAL], payload(batch, row)
        try:
            if row[D.PROTO] == IP_UDP:
                self._quic_initial(serial, data)
            else:
                seq, start, syn = row[D.TCP_SEQ], self._tcp.get(serial), self._pick.syn(serial)
                if start is None:
                    in_order = syn < 0 or syn == seq
                else:
                    in_order = not start.segments and start.base == seq
                if in_order and self._tcp_start(serial, data):
                    return  # a whole ClientHello or request head in one segment
                start = self._tcp.setdefault(serial, TcpStart(None if syn < 0 else syn))
                stream = start.add(seq, data)
                if start.stalled:
                    self._decide(serial, None)  # its first bytes will not come: let it go
                else:
                    self._tcp_start(serial, stream)
        except DecodeError:
            self._decide(serial, None)

    def _tcp_start(self, serial: int, stream: bytes) -> bool:
        """Read a TCP client's first bytes as `pick` does; -> whether the flow is decided."""
        view = np.frombuffer(stream, np.uint8)
        found, at, size, source = first_name(view, 0, len(view), self._scratch)
        if found != FOUND:
            return False
        self._decide(serial, None)
        if size:
            raw = self._scratch if source & COPIED else view
            self._named(serial, raw[at : at + size].tobytes(), source & ~COPIED)
        return True

    def _quic_initial(self, serial: int, datagram: bytes) -> None:
        """A client datagram of a flow Python holds: a short header (`pick` decides the others)
        fails to parse as an Initial, and so decides the flow too."""
        packet = parse_initial(datagram)
        crypto = self._quic.setdefault(serial, CryptoAssembler())
        for offset, data in packet.crypto:
            crypto.add(offset, data)
        hello = crypto.client_hello()
        if hello is not None:
            self._decide(serial, ("quic", hello.server_name) if hello.server_name else None)


@lru_cache(maxsize=4096)
def _valid(name: str) -> bool:
    """`valid_hostname`, remembered: the same few server names open most flows."""
    return valid_hostname(name)
