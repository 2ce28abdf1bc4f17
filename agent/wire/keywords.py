"""How people write the numbers in `agent.wire.numbers`: IP protocols by their IANA keyword,
link types by tcpdump.org's description. Every output that names one reads it here."""

from __future__ import annotations

from agent.wire import numbers as N

PROTOCOLS = {
    N.IP_ICMP: "icmp", N.IP_TCP: "tcp", N.IP_UDP: "udp", N.IP_IPV6: "ipv6", N.IP_GRE: "gre",
    N.IP_ICMPV6: "ipv6-icmp", N.IP_SCTP: "sctp",
}  # fmt: skip
"""IP protocol number -> its IANA keyword (iana.org/assignments/protocol-numbers, lower case, as
ECS `network.transport` and OCSF `protocol_name` write it)."""
ALIASES = {N.IP_ICMPV6: ("icmpv6",)}
"""Other names a policy may write for a protocol."""
RULE_PROTOCOLS = {
    name: number
    for number in (N.IP_ICMP, N.IP_TCP, N.IP_UDP, N.IP_ICMPV6, N.IP_SCTP)
    for name in (PROTOCOLS[number], *ALIASES.get(number, ()))
}
"""Protocol names a policy may use, with their numbers (a rule may also write any number)."""

LINK_TYPES = {
    N.LINKTYPE_NULL: "BSD loopback", N.LINKTYPE_ETHERNET: "Ethernet", N.LINKTYPE_RAW: "raw IP",
    105: "IEEE 802.11", N.LINKTYPE_LOOP: "OpenBSD loopback",
    N.LINKTYPE_LINUX_SLL: "Linux cooked (SLL)", 127: "802.11 radiotap", N.LINKTYPE_IPV4: "raw IPv4",
    N.LINKTYPE_IPV6: "raw IPv6", N.LINKTYPE_LINUX_SLL2: "Linux cooked v2 (SLL2)",
}  # fmt: skip
"""Names for the common pcap link types (tcpdump.org/linktypes.html); 105 and 127 are named but
not decoded."""


def proto_name(number: int) -> str:
    """An IP protocol number as people write it (`tcp`), else the number."""
    return PROTOCOLS.get(number, str(number))


def protocol_number(text: str) -> int | None:
    """A policy's protocol (a name or a number below 256) -> its number; None: not one."""
    text = text.lower()
    if text.isdigit() and int(text) < 256:
        return int(text)
    return RULE_PROTOCOLS.get(text)
