# The C types the compiled kernels share (cimported: `from cython.cimports.agent.cdefs import
# Bytes`). To mypy these names come from an unfollowed module, so they read as Any there.

ctypedef const unsigned char[:] Bytes
#   Packet bytes: a read-only view, every read bounds-checked.
ctypedef Py_ssize_t Pos
#   An offset into `Bytes`, or a row number.
ctypedef unsigned long long[:, :] RowView
#   Decoder rows (`agent.wire.rows` names the columns).
ctypedef unsigned long long[:, ::1] Cols
#   Rows of uint64 columns in C order: flows, fragments, or decoder rows for the flow table.
ctypedef long long[:] Col
ctypedef const long long[:] ICol
ctypedef unsigned long long *Key
#   Five key words of a flow or fragment.
ctypedef (int, Py_ssize_t, int) Step
#   A link or tunnel parser's answer: (next layer L_*, its offset, reason).
ctypedef (int, Py_ssize_t, Py_ssize_t) Ip
#   An IP parser's answer: (reason, transport header offset, end of the datagram's bytes).
ctypedef (int, Py_ssize_t, Py_ssize_t, int) Hello
#   `tls_hello.hello_span`, `pick.first_name`: (status, name offset, its length (0: none), ECH
#   or the name's source).
ctypedef struct HelloInfo:
    # What `tls_hello` read: status HELLO_*; a refusal's TLS_* reason, offset and the number it
    # names; else where the body starts (in the buffer, or in scratch when copied) and, from
    # there, the parts' offsets and lengths (0: absent).
    int status
    int reason
    Py_ssize_t offset
    long long value
    Py_ssize_t body_at
    int copied
    long long legacy
    Py_ssize_t name_at
    Py_ssize_t name_len
    int ech
    Py_ssize_t versions_at
    Py_ssize_t versions_len
    Py_ssize_t alpn_at
    Py_ssize_t alpn_len
ctypedef HelloInfo *Info
ctypedef unsigned char[:] Scratch
#   Room to copy a ClientHello that spans records into (MAX_CLIENT_HELLO + 4 bytes, or none).
ctypedef (int, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t, Py_ssize_t) Head
#   `http_host.read_head`: (HEAD_DONE/MORE/BAD, then offsets: see there).
ctypedef const long long[:, :] ICols
ctypedef const unsigned long long[:] U64s
ctypedef unsigned long long[:] U64Col
ctypedef unsigned char[:] Flags
ctypedef long long[:, :] Table
ctypedef unsigned long long[::1] KeyWords

cdef extern from *:
    void prefetch "__builtin_prefetch"(const void *addr) noexcept nogil
    #   A hint that the bytes at `addr` are read soon (GCC and Clang): it reads nothing itself,
    #   so no address it is given can fault.
