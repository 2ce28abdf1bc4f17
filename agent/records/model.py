"""What a flow record says, from any source: cloud flow logs, Zeek conn.log, NetFlow/IPFIX.

A capture proves what crossed one vantage point packet by packet; a flow record is someone
else's summary of it. So a record keeps, beside the `agent.model.Flow` fields it can fill, the
facts an auditor needs to weigh it: which format and which vantage point (the exporter,
interface or VM, as the source names it) wrote it, whether its counts are exact or estimated
from samples, whether the traffic was accepted or rejected, and where in its file it was, so a
verdict can point back at the line (or byte offset) it rests on. Seconds an interface was not
seen (AWS NODATA/SKIPDATA) are `CoverageGap`s: a gap is missing evidence, never zero traffic.

Sans-IO: parsers in this package take bytes or lines and return these records.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from agent.model import Flow


class Counts(StrEnum):
    """Whether a record's packet and byte counts are what crossed, or an estimate."""

    EXACT = "exact"
    """Every packet counted (Zeek, unsampled NetFlow, AWS, OCI and Azure flow logs)."""
    ESTIMATED = "estimated"
    """Scaled up from sampled packets (GCP, always; NetFlow/IPFIX with a sampling rate > 1)."""


class Action(StrEnum):
    """What the source's filter did with the traffic, as the record says."""

    ACCEPT = "accept"
    REJECT = "reject"
    """Denied by a security group, network ACL, NSG rule or security list: it was tried, and
    is evidence of intent, but did not cross. Counted apart from accepted traffic."""
    UNKNOWN = "unknown"
    """The source does not say (Zeek, NetFlow, a TGW log without `action`)."""


class Gap(StrEnum):
    """Why a vantage point has no records for a window (AWS `log-status`)."""

    NODATA = "nodata"
    """No traffic to or from the interface in the window: nothing to record."""
    SKIPDATA = "skipdata"
    """Records were lost in the window (capacity or an internal error): traffic unseen."""


@dataclass(frozen=True, slots=True)
class Where:
    """The record's own place in its file: a verdict's evidence pointer."""

    line: int = 0
    """1-based line of a text record (a JSON event's first line); 0 for binary sources."""
    offset: int = 0
    """Byte offset of the record's start (in the uncompressed stream); for a datagram source,
    of the datagram that carried it."""
    item: int = -1
    """Position inside a container (the n-th `logEvents` entry, the n-th record of an NSG
    tuple list, the n-th flow of a NetFlow datagram); -1 when the record is the whole line."""

    def __str__(self) -> str:
        place = f"line {self.line}" if self.line else f"offset {self.offset}"
        return f"{place} item {self.item}" if self.item >= 0 else place


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowRecord:
    """One flow record as its source wrote it, built by keyword.

    The "fwd" counts are from `src` to `dst`. Sources that log one record per direction per
    window (AWS, OCI, GCP, NetFlow v5/v9) leave the reverse counts 0 and `bidirectional`
    False; the two directions are joined into one flow later (`agent.records.join`), not here.
    Zeek, Azure and IPFIX biflows fill both (`bidirectional` True). `src` is the source's
    "source" field, not yet the local side: that is decided once, from the policy's networks,
    as for packets. Counts are IP bytes (header included) wherever the source counts them so.
    """

    source: str
    """The format: `aws-vpc`, `aws-tgw`, `oci-vcn`, `gcp-vpc`, `azure-vnet`, `azure-nsg`,
    `zeek-conn`, `netflow-v5`, `netflow-v9`, `ipfix`."""
    vantage: str
    """Who saw it, as the source names it: an ENI or TGW attachment, a VNIC OCID, a VM, an NSG
    rule's MAC, an exporter address and observation domain/interface."""
    proto: int
    src: str
    sport: int
    dst: str
    dport: int
    first_ns: int
    last_ns: int
    """The record's window (ns since the epoch): the source's first and last packet where it
    knows them, else its aggregation interval, which is wider than the flow."""
    packets: int
    bytes: int
    packets_rev: int = 0
    bytes_rev: int = 0
    tcp_flags: int = 0
    """OR of the TCP flags of the fwd packets (AWS tcp-flags, NetFlow tcpControlBits)."""
    tcp_flags_rev: int = 0
    bidirectional: bool = False
    counts: Counts = Counts.EXACT
    sampling: int = 1
    """1 in `sampling` packets was counted; 1 for every packet, 0 when sampled at a rate the
    source did not state (GCP)."""
    action: Action = Action.UNKNOWN
    community_id: str = ""
    """The Community ID as the source gave it (Zeek), else empty: residency's own is computed
    from the five-tuple by `agent.records.community`."""
    pkt_src: str = ""
    pkt_dst: str = ""
    """The packet's own addresses where they differ from `src`/`dst` (AWS pkt-srcaddr/
    pkt-dstaddr behind a NAT gateway or a TGW), else empty."""
    sublocation: str = ""
    """`type:id` of an AWS Local Zone, Wavelength zone or Outpost the record came from."""
    direction: str = ""
    """`ingress`/`egress` from the vantage point's view, where the source says (AWS
    flow-direction, Azure/OCI, GCP reporter); empty when it does not."""
    where: Where = Where()
    fields: tuple[tuple[str, str], ...] = ()
    """Every other field the source named (account, VPC, subnet, rule ...), kept as text for
    the evidence, never interpreted."""

    def as_flow(self, serial: int = 0) -> Flow:
        """The `Flow` this record alone describes (frame lengths are unknown: 0; `end` is
        `record`)."""
        return Flow(proto=self.proto, src=self.src, sport=self.sport, dst=self.dst,
                    dport=self.dport, depth=0, packets_fwd=self.packets, bytes_fwd=self.bytes,
                    frame_bytes_fwd=0, packets_rev=self.packets_rev, bytes_rev=self.bytes_rev,
                    frame_bytes_rev=0, first_ns=self.first_ns, last_ns=self.last_ns,
                    tcp_flags_fwd=self.tcp_flags, tcp_flags_rev=self.tcp_flags_rev,
                    end="record", serial=serial)  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class CoverageGap:
    """Seconds of a vantage point with no records: missing evidence, never zero traffic."""

    source: str
    vantage: str
    start_ns: int
    end_ns: int
    gap: Gap
    where: Where = Where()

    @property
    def seconds(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9


Item = FlowRecord | CoverageGap
"""What a record parser yields, in file order."""
