# What agent.wire.decode cimports from ip.py.
from agent.cdefs cimport Bytes, Ip, Pos, RowView

cdef Ip parse_ipv4(Bytes buf, Pos pos, Pos end, RowView rows, Pos n) noexcept nogil
cdef Ip parse_ipv6(Bytes buf, Pos pos, Pos end, RowView rows, Pos n) noexcept nogil
