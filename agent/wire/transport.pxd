# What agent.wire.decode and agent.flows.kernel cimport from transport.py.
from agent.cdefs cimport Bytes, Pos

cpdef bint has_ports(long long proto) noexcept nogil
cdef (int, long long, long long, long long) parse_transport(Bytes buf, Pos pos, Pos end, long long proto) noexcept nogil
cdef (Py_ssize_t, Py_ssize_t, long long) payload_span(Bytes buf, Pos pos, Pos end, long long proto) noexcept nogil
