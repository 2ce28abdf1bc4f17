# Integer reads for the compiled kernels, inlined into each (cimported from cython.cimports).
# Every read is bounds-checked against the buffer (the `boundscheck` directive is on wherever
# packet bytes are read); callers still check against the end of their layer first.

cdef inline long long u16be(const unsigned char[:] buf, Py_ssize_t pos) noexcept nogil:
    return (<long long>buf[pos] << 8) | buf[pos + 1]

cdef inline long long u32be(const unsigned char[:] buf, Py_ssize_t pos) noexcept nogil:
    return (u16be(buf, pos) << 16) | u16be(buf, pos + 2)

cdef inline unsigned long long u64be(const unsigned char[:] buf, Py_ssize_t pos) noexcept nogil:
    return (<unsigned long long>u32be(buf, pos) << 32) | <unsigned long long>u32be(buf, pos + 4)

cdef inline long long u16le(const unsigned char[:] buf, Py_ssize_t pos) noexcept nogil:
    return buf[pos] | (<long long>buf[pos + 1] << 8)

cdef inline long long u32le(const unsigned char[:] buf, Py_ssize_t pos) noexcept nogil:
    return u16le(buf, pos) | (u16le(buf, pos + 2) << 16)

cdef inline long long u16(const unsigned char[:] buf, Py_ssize_t pos, bint big) noexcept nogil:
    return u16be(buf, pos) if big else u16le(buf, pos)

cdef inline long long u32(const unsigned char[:] buf, Py_ssize_t pos, bint big) noexcept nogil:
    return u32be(buf, pos) if big else u32le(buf, pos)
