# What agent.names.pick cimports from tls_hello.py.
from agent.cdefs cimport Bytes, Hello, Pos, Scratch

cdef Hello hello_span(Bytes buf, Pos pos, Pos end, Scratch scratch) noexcept nogil
