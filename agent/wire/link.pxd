# What agent.wire.decode and agent.wire.tunnel cimport from link.py.
from agent.cdefs cimport Bytes, Pos, Step

cdef Step parse_link(Bytes buf, Pos pos, Pos end, long long linktype) noexcept nogil
cdef Step parse_ether(Bytes buf, Pos pos, Pos end) noexcept nogil
cdef Step after_ethertype(Bytes buf, Pos pos, Pos end, long long etype) noexcept nogil
cdef Step parse_mpls(Bytes buf, Pos pos, Pos end) noexcept nogil
cdef Step parse_ppp(Bytes buf, Pos pos, Pos end) noexcept nogil
