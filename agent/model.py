"""Frozen records passed between the layers. The live flow state is owned by `agent.flows` alone."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

TCP_FLAG_LETTERS = "FSRPAUEC"  # bit 0 (FIN) .. bit 7 (CWR), as in the TCP header


def tcp_flags_text(bits: int) -> str:
    """`SA` style rendering of an OR of TCP flag bits, in header order."""
    return "".join(letter for i, letter in enumerate(TCP_FLAG_LETTERS) if bits >> i & 1)


@dataclass(frozen=True, slots=True)
class Flow:
    """One bidirectional conversation; "fwd" is the initiator's direction."""

    proto: int
    """IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, 47 GRE ...)."""
    src: str
    """The initiator: the sender of the SYN, else of the first packet seen."""
    sport: int
    dst: str
    dport: int
    depth: int
    """Tunnel depth: 0 for the flow that leaves the host, 1 inside one tunnel, ..."""
    packets_fwd: int
    bytes_fwd: int
    """IP bytes (IPv4 total length, IPv6 payload + 40) of the carrying IP header."""
    frame_bytes_fwd: int
    """Original on-the-wire frame length, even when the capture cut the frame short."""
    packets_rev: int
    bytes_rev: int
    frame_bytes_rev: int
    first_ns: int
    """Capture timestamps (ns since the epoch); never the clock."""
    last_ns: int
    tcp_flags_fwd: int
    tcp_flags_rev: int
    end: str
    """Why the flow ended: `eof`, `idle`, `active`, `reused` (a TCP 5-tuple reused after close)."""

    def as_dict(self) -> dict[str, object]:
        return {
            "proto": self.proto,
            "src": self.src,
            "sport": self.sport,
            "dst": self.dst,
            "dport": self.dport,
            "depth": self.depth,
            "packets_fwd": self.packets_fwd,
            "bytes_fwd": self.bytes_fwd,
            "frame_bytes_fwd": self.frame_bytes_fwd,
            "packets_rev": self.packets_rev,
            "bytes_rev": self.bytes_rev,
            "frame_bytes_rev": self.frame_bytes_rev,
            "first": round(self.first_ns / 1e9, 6),
            "last": round(self.last_ns / 1e9, 6),
            "first_ns": self.first_ns,
            "last_ns": self.last_ns,
            "tcp_flags_fwd": tcp_flags_text(self.tcp_flags_fwd),
            "tcp_flags_rev": tcp_flags_text(self.tcp_flags_rev),
            "end": self.end,
        }


@dataclass(frozen=True, slots=True)
class CaptureWarning:
    """Damage that did not stop the reading, e.g. a record cut off at the end of a file."""

    path: str
    offset: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: offset {self.offset}: {self.reason}"


@dataclass(slots=True)
class CaptureStats:
    """What was read and what could not be used, by named reason; filled in by the pipeline."""

    records: int = 0
    decoded: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    """Records that gave no flow, by the reason the decoder stopped."""
    anomalies: Counter[str] = field(default_factory=Counter)
    """Damage inside records that still gave a flow (a truncated tunnel payload, say)."""
    snaplen_cut: int = 0
    link_types: Counter[int] = field(default_factory=Counter)
    warnings: list[CaptureWarning] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "records": self.records,
            "decoded": self.decoded,
            "skipped": dict(sorted(self.skipped.items())),
            "anomalies": dict(sorted(self.anomalies.items())),
            "snaplen_cut": self.snaplen_cut,
            "link_types": {str(k): v for k, v in sorted(self.link_types.items())},
            "warnings": [str(w) for w in self.warnings],
        }
