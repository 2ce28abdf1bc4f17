# What agent.names.pick cimports from sni.py.
from agent.cdefs cimport Bytes, Hello, Pos

cpdef Hello hello_span(Bytes buf, Pos pos, Pos end) noexcept nogil
