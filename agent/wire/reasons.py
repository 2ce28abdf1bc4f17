"""Why a record (or a layer inside one) could not be used: every drop is counted by name."""

from __future__ import annotations

OK = 0
UNKNOWN_LINKTYPE = 1
TRUNCATED_LINK = 2
NOT_IP = 3
TRUNCATED_IP = 4
BAD_IP_HEADER = 5
TRUNCATED_TRANSPORT = 6
UNKNOWN_INTERFACE = 7
FRAGMENT_WITHOUT_FIRST = 8
BAD_IPV6_EXTENSION = 9
MPLS_UNKNOWN_PAYLOAD = 10
TUNNEL_TOO_DEEP = 11
BAD_TUNNEL_HEADER = 12

NAMES = {
    UNKNOWN_LINKTYPE: "unknown_linktype",
    TRUNCATED_LINK: "truncated_link_header",
    NOT_IP: "not_ip",
    TRUNCATED_IP: "truncated_ip_header",
    BAD_IP_HEADER: "bad_ip_header",
    TRUNCATED_TRANSPORT: "truncated_transport_header",
    UNKNOWN_INTERFACE: "unknown_pcapng_interface",
    FRAGMENT_WITHOUT_FIRST: "fragment_without_first",
    BAD_IPV6_EXTENSION: "bad_ipv6_extension_header",
    MPLS_UNKNOWN_PAYLOAD: "mpls_unknown_payload",
    TUNNEL_TOO_DEEP: "tunnel_too_deep",
    BAD_TUNNEL_HEADER: "bad_tunnel_header",
}
