"""Special-purpose addresses (RFC 6890 and the IANA registries that extend it), classified before
any provider or country data: a private or documentation address is nobody's region."""

from __future__ import annotations

IPV4 = {
    "0.0.0.0/8": "this-network",
    "10.0.0.0/8": "private",
    "100.64.0.0/10": "shared-cgnat",
    "127.0.0.0/8": "loopback",
    "169.254.0.0/16": "link-local",
    "172.16.0.0/12": "private",
    "192.0.0.0/24": "ietf-protocol-assignments",
    "192.0.2.0/24": "documentation",
    "192.31.196.0/24": "as112",
    "192.52.193.0/24": "amt",
    "192.88.99.0/24": "6to4-relay-anycast",
    "192.168.0.0/16": "private",
    "192.175.48.0/24": "as112",
    "198.18.0.0/15": "benchmarking",
    "198.51.100.0/24": "documentation",
    "203.0.113.0/24": "documentation",
    "224.0.0.0/4": "multicast",
    "240.0.0.0/4": "reserved",
    "255.255.255.255/32": "limited-broadcast",
}
IPV6 = {
    "::/128": "unspecified",
    "::1/128": "loopback",
    "64:ff9b::/96": "nat64",
    "64:ff9b:1::/48": "nat64-local",
    "100::/64": "discard-only",
    "2001::/23": "ietf-protocol-assignments",
    "2001::/32": "teredo",
    "2001:2::/48": "benchmarking",
    "2001:10::/28": "orchid",
    "2001:20::/28": "orchid-v2",
    "2001:db8::/32": "documentation",
    "2002::/16": "6to4",
    "3fff::/20": "documentation",
    "5f00::/16": "srv6-sids",
    "fc00::/7": "unique-local",
    "fe80::/10": "link-local",
    "ff00::/8": "multicast",
}
IPV4_MAPPED = "ipv4-mapped"
"""::ffff:0:0/96. IPv4 shares that space here (see agent.intel.records), so an IPv6 address in it
is classified by its family before the table is consulted."""
GLOBAL = "global"
"""Not special: an address the providers' and country data speak for."""
