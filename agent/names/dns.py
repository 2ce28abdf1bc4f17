"""DNS answers on the wire, as bindings of names to addresses (the flows to an address are
named by what DNS last said about it before they began).

Responses over UDP are read once per distinct answer: compiled code (`repeat`) skips the
repeats that cannot bind anything new. DNS over TCP is put in order per direction and split at
its length prefixes. Names that are not valid host names are counted, not bound.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from agent.names.repeat import UNSETTLED, AnswerIndex, CachedResponse, Found, next_unsettled
from agent.names.tcp import TcpStart
from agent.wire import rows as D
from agent.wire.batch import RecordBatch
from agent.wire.cursor import DecodeError
from agent.wire.dns import AAAA, CNAME, A, DnsMessage, dns_over_tcp, parse_dns

ANSWER_CACHE = 4096
"""DNS responses remembered by content: resolvers repeat the same answers."""

Bindings = dict[str, list[tuple[int, tuple[str, ...]]]]
"""Address -> (time, names) for each DNS answer that gave it."""


class DnsBinder:
    """Bindings from DNS responses, fed the rows `pick` found on port 53."""

    def __init__(self, untrusted: Counter[str]) -> None:
        self.bindings: Bindings = {}
        self.untrusted = untrusted
        self._answers: dict[bytes, CachedResponse] = {}
        """DNS responses by their bytes after the query id, oldest first."""
        self._index = AnswerIndex(2 * ANSWER_CACHE)
        self._rebound = self._evicted = 0
        """Addresses bound again and answers evicted so far: when an answer was settled."""
        self._streams: dict[tuple[int, int], list[Any]] = {}
        """(flow serial, direction) -> [DNS-over-TCP bytes in order, bytes used]."""

    def udp(self, batch: RecordBatch, picked: D.Rows) -> None:
        """DNS responses over UDP, as (record, payload offset, payload length) rows. Most
        answers repeat: compiled code (`repeat`) skips those that cannot bind anything
        new."""
        data, ts_ns, index = batch.data, batch.ts_ns, self._index
        at, size = picked[:, 1].astype(np.int64) + 2, picked[:, 2].astype(np.int64) - 2
        entries = index.find(data, at, size)  # the answer, whatever the query id
        i = next_unsettled(entries, index.settled, self._rebound, self._evicted, 0)
        while i < len(entries):
            rec, start, n = picked[i].tolist()
            generation = index.generation
            self._answer(data[start : start + n].tobytes(), int(ts_ns[rec]))
            if index.generation != generation:  # the index started over: find again
                entries = index.find(data, at, size)
            i = next_unsettled(entries, index.settled, self._rebound, self._evicted, i + 1)

    def _answer(self, message: bytes, ts: int) -> None:
        """Bind the answers of one response, and note when that settled them."""
        cache, bindings, key = self._answers, self.bindings, message[2:]
        known = cache.get(key)
        if known is None:
            known = cache[key] = CachedResponse(self._read_answers(message))
            if len(cache) > ANSWER_CACHE:
                self._index.drop(cache.pop(next(iter(cache))))
                self._evicted += 1
        for address, names in known.found:
            self._bind(address, names, ts)
        if all(bindings[address][-1][1] == names for address, names in known.found):
            self._index.settle(known, key, (self._rebound, self._evicted))
        else:  # one address bound to two names in the one answer: each repeat binds again
            self._index.settle(known, key, (UNSETTLED, UNSETTLED))

    def tcp(self, batch: RecordBatch, row: list[int]) -> None:
        """DNS over TCP: each direction put in order, then split at its 2-byte length prefixes;
        only the first FIRST_BYTES of a connection are read."""
        key = (row[D.SERIAL], row[D.FORWARD])
        stream = self._streams.setdefault(key, [TcpStart(), 0])
        data = stream[0].add(row[D.TCP_SEQ], payload(batch, row))
        try:
            messages, used = dns_over_tcp(data[stream[1] :])
        except DecodeError:
            self.untrusted["dns_malformed"] += 1
            return
        stream[1] += used
        ts = int(batch.ts_ns[row[D.REC]])
        for message in messages:
            if message.is_response:
                for address, names in bound(message, self.untrusted):
                    self._bind(address, names, ts)

    def _bind(self, address: str, names: tuple[str, ...], ts: int) -> None:
        """Bind names to an address from `ts`; a repeat of its last answer adds nothing (and,
        over TCP as over UDP, does not unsettle the answers already known)."""
        seen = self.bindings.setdefault(address, [])
        if not seen or seen[-1][1] != names:
            self._rebound += bool(seen)
            seen.append((ts, names))

    def _read_answers(self, message: bytes) -> Found:
        """(address, the names that lead to it) for each trusted A/AAAA answer."""
        try:
            msg = parse_dns(message, partial=True)
        except DecodeError:
            self.untrusted["dns_malformed"] += 1
            return []
        return bound(msg, self.untrusted)

    @property
    def holds_streams(self) -> bool:
        """Some DNS-over-TCP stream is being read."""
        return bool(self._streams)

    @property
    def held(self) -> int:
        """Bytes kept of DNS-over-TCP streams."""
        return sum(stream[0].held for stream in self._streams.values())

    def forget(self, ended: set[int]) -> None:
        """Let go of the TCP streams of flows that ended."""
        for key in [k for k in self._streams if k[0] in ended]:
            del self._streams[key]


def payload(batch: RecordBatch, row: list[int]) -> bytes:
    """The transport payload of a decoder row."""
    start = row[D.PAYLOAD]
    return bytes(batch.data[start : start + row[D.PAYLOAD_LEN]])


def bound(msg: DnsMessage, untrusted: Counter[str]) -> Found:
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
            found.append((rr.data, names))  # as `ipaddress` writes it (`parse_dns` wrote it)
    return found
