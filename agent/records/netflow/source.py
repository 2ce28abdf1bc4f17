"""Export datagrams out of a capture of them: the UDP payloads to the collector's ports, found
by the project's own capture reader and decoder, with the exporter's address."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from agent.capture import PacketSource
from agent.flows.text import address
from agent.wire import rows as D
from agent.wire.decode import Decoder
from agent.wire.numbers import FRAG_NONE

if TYPE_CHECKING:
    from agent.capture.bpf import Selector

EXPORT_PORTS = frozenset({2055, 4739, 9995, 9996})
"""NetFlow's customary collector ports and IPFIX's own (4739, RFC 7011)."""
IP_UDP = 17


class Datagram(NamedTuple):
    payload: bytes
    exporter: str
    offset: int
    """The capture record's offset in its file."""
    ts_ns: int


def export_datagrams(source: PacketSource, ports: Collection[int] = EXPORT_PORTS,
                     skipped: dict[str, int] | None = None,
                     selector: Selector | None = None) -> Iterator[Datagram]:  # fmt: skip
    """Each whole, unfragmented UDP datagram to one of `ports` (at tunnel depth 0), in capture
    order, of the records `selector` (a capture filter) selects. Others are counted in
    `skipped` by reason: `not_selected` (by the filter), `not_export` (other traffic),
    `fragmented` (reassembly is not done), `cut_short` (the capture kept less than the
    datagram)."""
    decoder = Decoder()
    wanted = np.array(sorted(ports), dtype=np.uint64)
    counts = skipped if skipped is not None else {}
    for batch in source.batches():
        if selector:
            chosen = selector.take(batch)
            counts["not_selected"] = counts.get("not_selected", 0) + batch.size - chosen.size
            batch = chosen
        for rows in decoder.decode(batch):
            udp = (rows[:, D.REASON] == 0) & (rows[:, D.DEPTH] == 0) & (rows[:, D.PROTO] == IP_UDP)
            hit = udp & np.isin(rows[:, D.DPORT], wanted)
            counts["not_export"] = counts.get("not_export", 0) + int(np.count_nonzero(~hit))
            for row in rows[hit].tolist():
                rec = row[D.REC]
                start, length = row[D.PAYLOAD], row[D.PAYLOAD_LEN]
                cut = batch.origlen[rec] > batch.caplen[rec]
                reason = "fragmented" if row[D.FRAG] != FRAG_NONE else "cut_short" if cut else ""
                if reason:
                    counts[reason] = counts.get(reason, 0) + 1
                    continue
                yield Datagram(
                    bytes(batch.data[start : start + length]),
                    address(row[D.SRC_HI], row[D.SRC_LO], row[D.VERSION]),
                    int(batch.file_offset[rec]), int(batch.ts_ns[rec]),
                )  # fmt: skip
