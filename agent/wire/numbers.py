"""The numbers the compiled decoders read, in one place: link types, EtherTypes, IP protocol
numbers, TCP flags, tunnel ports, and the codes the decoder's parts hand each other.

Plain integers here; the build turns every one into a C constant the kernels cimport (see
setup.py), so Python and compiled code read the same definition.
"""

from __future__ import annotations

# What follows a header: the layer kinds the decoder walks through.
L_NONE, L_ETHER, L_IPV4, L_IPV6, L_IP_ANY, L_PPP = range(6)

# Link types (tcpdump.org/linktypes.html); 12 and 14 are raw IP on some old systems.
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW_OLD_A, LINKTYPE_RAW_OLD_B = 12, 14
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276

# EtherTypes, PPP protocols, BSD loopback address families.
ETH_IPV4, ETH_IPV6 = 0x0800, 0x86DD
ETH_VLAN, ETH_QINQ, ETH_QINQ_OLD = 0x8100, 0x88A8, 0x9100
ETH_MPLS, ETH_MPLS_MC = 0x8847, 0x8848
ETH_PPPOE_SESSION = 0x8864
ETH_TRANSPARENT_BRIDGING, ETH_PPP = 0x6558, 0x880B
PPP_IPV4, PPP_IPV6 = 0x0021, 0x0057
BSD_AF_INET = 2
BSD_AF_INET6_A, BSD_AF_INET6_B, BSD_AF_INET6_C = 24, 28, 30
"""NetBSD/OpenBSD, FreeBSD, Darwin."""
MAX_LABELS = 8
"""MPLS labels walked before giving up."""

# IP: fragment kinds and IPv6 extension headers.
FRAG_NONE, FRAG_FIRST, FRAG_MIDDLE, FRAG_LAST = range(4)
EXT_HOP_BY_HOP, EXT_ROUTING, EXT_FRAGMENT, EXT_AH, EXT_DEST_OPTS = 0, 43, 44, 51, 60
MAX_EXTENSIONS = 12

# Transport: IP protocol numbers and TCP flags.
IP_ICMP, IP_IPIP, IP_TCP, IP_UDP, IP_IPV6, IP_GRE, IP_ICMPV6, IP_SCTP = 1, 4, 6, 17, 41, 47, 58, 132
IP_DCCP, IP_UDPLITE = 33, 136
TH_FIN, TH_SYN, TH_RST, TH_PSH, TH_ACK = 0x01, 0x02, 0x04, 0x08, 0x10

# Tunnels.
VXLAN_PORT, GENEVE_PORT, TEREDO_PORT = 4789, 6081, 3544
GRE_CSUM, GRE_KEY, GRE_SEQ, GRE_ACK = 0x8000, 0x2000, 0x1000, 0x0080

# What `names.pick.first_name` answers.
UNSURE, FOUND = 0, 1
