# What agent.names.pick cimports from http_host.py.
from agent.cdefs cimport Bytes, Host, Pos

cpdef Host host_span(Bytes buf, Pos pos, Pos end) noexcept nogil
