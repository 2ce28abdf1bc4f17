"""Frozen records passed between the layers. The live flow state is owned by `agent.flows` alone."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

import numpy as np

from agent.wire.keywords import LINK_TYPES

TCP_FLAG_LETTERS = "FSRPAUEC"  # bit 0 (FIN) .. bit 7 (CWR), as in the TCP header
TCP_FLAGS_TEXT = tuple(
    "".join(letter for i, letter in enumerate(TCP_FLAG_LETTERS) if bits >> i & 1)
    for bits in range(256)
)
"""`SA` style rendering of every OR of TCP flag bits, in header order."""


def clock(ns: int) -> str:
    """ns since the epoch as a UTC time a person reads, to the millisecond (`Z`: UTC)."""
    stamp = datetime.fromtimestamp(ns // 1_000_000_000, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"{stamp}.{ns % 1_000_000_000 // 1_000_000:03d}Z"


def seconds(ns: int) -> str:
    """Nanoseconds since the epoch as exact decimal seconds: a float would lose the last digits."""
    return f"{ns // 1_000_000_000}.{ns % 1_000_000_000:09d}"


LOCAL_NETWORKS = "local-networks"
"""`Flow.direction` when the policy's local networks said which side is local; the flow table's
own ways (`syn`, `ports`, `first-packet`) are `agent.flows.kernel.DIRECTION_NAMES`."""
DIRECTIONS = (LOCAL_NETWORKS, "syn", "ports", "first-packet")
"""Every `Flow.direction`, strongest first."""
INFERRED = DIRECTIONS[2:]
"""Directions that are a guess: neither the policy's local networks nor a SYN said which side
is local."""


class Flow(NamedTuple):
    """One bidirectional conversation; "fwd" is the initiator's direction.

    `src` is the initiator (the local side): the sender of the SYN, else the client by its port
    (well-known < registered < ephemeral), else the sender of the first packet seen; `direction`
    says which (`syn`, `ports`, `first-packet`), or `local-networks` once the judge has turned
    the flow round by the policy's local networks. `depth` is the tunnel depth: 0 for the flow
    that leaves the host, 1 inside one tunnel, and so on. `bytes_*` are IP bytes (IPv4 total
    length, IPv6 payload length + 40) of the carrying IP header; `frame_bytes_*` the original
    on-the-wire frame lengths, even where the capture cut a frame short. Times are capture
    timestamps in ns since the epoch, never the clock: `first_ns` is the first packet's,
    `last_ns` the latest. `end` says why the flow ended: `eof`, `idle`, `active`, or `reused`
    (a TCP 5-tuple reused after a close). `serial` numbers the flows of one recording (the
    captures read together) in the order they began. `names` are (source, name): `sni`, `quic`
    and `http` from the flow itself, `dns` from the last answer that gave the responder's
    address before the flow began.
    """

    proto: int
    src: str
    sport: int
    dst: str
    dport: int
    depth: int
    packets_fwd: int
    bytes_fwd: int
    frame_bytes_fwd: int
    packets_rev: int
    bytes_rev: int
    frame_bytes_rev: int
    first_ns: int
    last_ns: int
    tcp_flags_fwd: int
    tcp_flags_rev: int
    end: str
    serial: int = 0
    names: tuple[tuple[str, str], ...] = ()
    direction: str = "first-packet"
    """How the local side was decided; rows journaled before it was recorded read as the
    weakest, `first-packet`."""

    def as_dict(self) -> dict[str, object]:
        """The JSON form: times also as decimal seconds (strings: all nine digits), TCP flags
        as letters."""
        d: dict[str, object] = self._asdict()
        d["first"], d["last"] = seconds(self.first_ns), seconds(self.last_ns)
        d["tcp_flags_fwd"] = TCP_FLAGS_TEXT[self.tcp_flags_fwd]
        d["tcp_flags_rev"] = TCP_FLAGS_TEXT[self.tcp_flags_rev]
        d["names"] = [{"source": source, "name": name} for source, name in self.names]
        return d


COLUMN = {name: i for i, name in enumerate(Flow._fields)}
"""A field's column in a FlowBatch."""


@dataclass(frozen=True, slots=True)
class FlowBatch:
    """Flows that ended together, as arrays in `Flow`'s field order (int64, or str objects for
    addresses and end reasons): writers take whole columns at once, and `records()` makes one
    `Flow` each for consumers that want objects."""

    columns: tuple[Any, ...]

    def __len__(self) -> int:
        return len(self.columns[0])

    def slices(self, size: int) -> Iterator[FlowBatch]:
        """The batch in parts of at most `size` flows, to bound what a writer holds at once."""
        for start in range(0, len(self), size):
            yield FlowBatch(tuple(c[start : start + size] for c in self.columns))

    def with_names(self, names: list[tuple[tuple[str, str], ...]]) -> FlowBatch:
        """The batch with its names column (the flow table leaves it out) in its place."""
        column = np.empty(len(names), dtype=object)
        column[:] = names
        at = COLUMN["names"]
        return FlowBatch((*self.columns[:at], column, *self.columns[at:]))

    def take(self, which: Any) -> FlowBatch:
        """The flows an index array or boolean mask selects, in its order."""
        return FlowBatch(tuple(c[which] for c in self.columns))

    @classmethod
    def of(cls, flows: list[Flow]) -> FlowBatch:
        """A batch from records (flows read back from the journal)."""
        columns = []
        for i, name in enumerate(Flow._fields):
            kind = object if name in ("src", "dst", "end", "names", "direction") else np.int64
            column = np.empty(len(flows), dtype=kind)
            column[:] = [f[i] for f in flows]
            columns.append(column)
        return cls(tuple(columns))

    def overlapping(self, since_ns: int | None, until_ns: int | None) -> FlowBatch:
        """The flows whose capture times overlap [since, until) (None: open), the rule the
        journal's window follows: last packet at or after `since`, first before `until`."""
        if since_ns is None and until_ns is None:
            return self
        keep = np.ones(len(self), dtype=bool)
        if since_ns is not None:
            keep &= self.columns[COLUMN["last_ns"]] >= since_ns
        if until_ns is not None:
            keep &= self.columns[COLUMN["first_ns"]] < until_ns
        return self if keep.all() else self.take(keep)

    def records(self) -> Iterator[Flow]:
        return map(Flow._make, zip(*(c.tolist() for c in self.columns), strict=True))


PROCESS_KEYS = ("pid", "name", "exe", "user", "cmdline", "started_ns")
"""`Process.as_dict` whole, in order."""
OWNER_KEYS = PROCESS_KEYS[:4]
"""Who a process is, without what it was told: for rows and alerts that leave the flow out."""


@dataclass(frozen=True, slots=True)
class Process:
    """The process that owned a connection (live mode), as the kernel reported it."""

    pid: int
    name: str
    exe: str = ""
    user: str = ""
    cmdline: tuple[str, ...] = ()
    started_ns: int = 0

    def as_dict(self, keys: Sequence[str] = PROCESS_KEYS) -> dict[str, Any]:
        """The one JSON form, of `keys` in their order: a flow row keeps it whole; connection
        rows and alerts keep who ran it (`OWNER_KEYS`), not its command line."""
        every = {"pid": self.pid, "name": self.name, "exe": self.exe, "user": self.user,
                 "cmdline": list(self.cmdline), "started_ns": self.started_ns}  # fmt: skip
        return {k: every[k] for k in keys}


@dataclass(frozen=True, slots=True)
class CaptureWarning:
    """Damage that did not stop the reading, e.g. a record cut off at the end of a file."""

    path: str
    offset: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: offset {self.offset}: {self.reason}"


STATS_KEYS = ("records", "not_selected", "decoded", "skipped", "anomalies", "snaplen_cut",
              "link_types", "drops", "untrusted_names", "warnings")  # fmt: skip
"""`CaptureStats.as_dict` whole, in order."""


@dataclass(slots=True)
class CaptureStats:
    """What was read and what could not be used, by named reason; filled in by the pipeline."""

    records: int = 0
    not_selected: int = 0
    """Records read that the capture filter (`--filter`) did not select: never decoded."""
    decoded: int = 0
    read_to: int = 0
    """File offset (uncompressed) of the last record read: progress through the capture."""
    skipped: Counter[str] = field(default_factory=Counter)
    """Records that gave no flow, by the reason the decoder stopped."""
    anomalies: Counter[str] = field(default_factory=Counter)
    """Damage inside records that still gave a flow (a truncated tunnel payload, say)."""
    snaplen_cut: int = 0
    link_types: Counter[int] = field(default_factory=Counter)
    drops: int | None = None
    """Packets the recorder said it dropped (pcapng interface statistics, the live ring's
    kernel counters); None when it did not say."""
    untrusted_names: Counter[str] = field(default_factory=Counter)
    """Names seen but not trusted (not valid host names, malformed DNS), by where they came from."""
    warnings: list[CaptureWarning] = field(default_factory=list)

    def as_dict(self, keys: Sequence[str] = STATS_KEYS) -> dict[str, Any]:
        """The one JSON form (docs/report-schema.md), of `keys` in their order: `flows --stats
        --json` writes it whole, the analysis document and the report the keys they document."""
        every = {
            "records": self.records,
            "not_selected": self.not_selected,
            "decoded": self.decoded,
            "skipped": dict(sorted(self.skipped.items())),
            "anomalies": dict(sorted(self.anomalies.items())),
            "snaplen_cut": self.snaplen_cut,
            "link_types": [{"number": n, "name": LINK_TYPES.get(n), "records": k}
                           for n, k in sorted(self.link_types.items())],
            "drops": self.drops,
            "untrusted_names": dict(sorted(self.untrusted_names.items())),
            "warnings": [str(w) for w in self.warnings],
        }  # fmt: skip
        return {k: every[k] for k in keys}

