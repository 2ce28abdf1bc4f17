# What agent.flows.kernel cimports from hashing.py.
from agent.cdefs cimport Col, Cols, Key

cdef unsigned long long _hash(Key k) noexcept nogil
cdef (Py_ssize_t, Py_ssize_t) _find(Col slots, Cols keys, Key k) noexcept nogil
cdef int _remove(Col slots, Cols keys, Py_ssize_t i) noexcept nogil
