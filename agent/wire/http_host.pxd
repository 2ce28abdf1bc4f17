# What agent.names.pick cimports from http_host.py.
from agent.cdefs cimport Bytes, Head, Pos

cpdef Head read_head(Bytes buf, Pos pos, Pos end) noexcept nogil
