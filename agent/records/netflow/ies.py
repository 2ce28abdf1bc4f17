"""The information elements residency reads from NetFlow v9 and IPFIX records, by number.

Numbers are IANA's IPFIX registry (RFC 7012), which keeps NetFlow v9's field types 1-127 with
their v9 meaning (`IN_BYTES` = octetDeltaCount, `FIRST_SWITCHED` = flowStartSysUpTime). Every
other element, and every enterprise-specific one except the reverse direction of a biflow
(RFC 5103, enterprise 29305), is skipped by its length: read past, never interpreted.
"""

from __future__ import annotations

from agent.wire.transport import has_ports

REVERSE_PEN = 29305
"""RFC 5103: the reverse-direction copy of an element in a biflow record."""

VARIABLE = 65535
"""An IPFIX field length that says "variable": the record carries the length (RFC 7011 7)."""

ROLE = {
    1: "bytes", 2: "packets", 85: "bytes_total", 86: "packets_total",
    4: "proto", 6: "tcp_flags", 7: "sport", 11: "dport",
    8: "src4", 12: "dst4", 27: "src6", 28: "dst6", 60: "ip_version",
    21: "end_uptime", 22: "start_uptime", 150: "start_s", 151: "end_s",
    152: "start_ms", 153: "end_ms", 154: "start_us", 155: "end_us",
    156: "start_ns", 157: "end_ns", 158: "start_delta_us", 159: "end_delta_us",
    160: "init_ms",
    34: "interval", 50: "interval", 305: "interval", 306: "space",
    48: "sampler", 302: "sampler", 145: "template", 149: "domain",
    315: "frame", 312: "frame_size",
}  # fmt: skip
"""Element number -> the role its value plays in a flow or an options record. Two numbers
with one role are the v9 and the IPFIX name of one fact (samplingInterval 34,
samplerRandomInterval 50, samplingPacketInterval 305; samplerId 48, selectorId 302)."""

REVERSE_ROLE = {1: "bytes_rev", 2: "packets_rev", 6: "tcp_flags_rev"}

ADDRESS_LENGTH = {"src4": 4, "dst4": 4, "src6": 16, "dst6": 16}
"""Roles read as raw bytes of this length; an address field of another length is skipped."""
FRAME = "frame"
"""dataLinkFrameSection (315): the first bytes of a sampled frame, of any length, read as
bytes and decoded as a packet (`agent.records.netflow.sflow`), as sFlow's headers are."""

NTP_EPOCH = 2_208_988_800
"""Seconds from 1900 (the NTP era IPFIX's micro- and nanosecond times count from) to 1970."""


def role_of(ie: int, enterprise: int) -> str:
    """The role of a template field, '' for a field to skip."""
    if enterprise == 0:
        return ROLE.get(ie, "")
    return REVERSE_ROLE.get(ie, "") if enterprise == REVERSE_PEN else ""


PORTED = frozenset(p for p in range(256) if has_ports(p))
"""Protocols with ports, as residency's own flows key them: ICMP's type and code, which
exporters put in the destination port, are not a port."""
