# What agent.wire.decode cimports from tunnel.py.
from agent.cdefs cimport Bytes, Pos, Step

cdef Step inner_layer(Bytes buf, Pos pos, Pos end, long long proto, long long sport, long long dport) noexcept nogil
