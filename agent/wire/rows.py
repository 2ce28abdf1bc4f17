"""The decoder's rows: one uint64 row per IP layer that carries a flow, its columns by name.

The one definition of a row: the decoder (`agent.wire.decode`) writes them, the flow table
fills SERIAL and FORWARD (and REASON for fragments it cannot place), the name pickers read
them. The build turns these into C constants the kernels cimport (see setup.py).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Rows = npt.NDArray[np.uint64]

(REC, DEPTH, VERSION, PROTO, SRC_HI, SRC_LO, DST_HI, DST_LO,
 SPORT, DPORT, IP_LEN, TCP_FLAGS, FRAG, FRAG_ID, REASON,
 PAYLOAD, PAYLOAD_LEN, TCP_SEQ, SERIAL, FORWARD) = range(20)  # fmt: skip
"""REC: the record's index in its batch; DEPTH: 0 for the outer IP layer, +1 per tunnel;
VERSION 4/6; addresses as two 64-bit words each (IPv4 IPv4-mapped); IP_LEN: the IP length;
FRAG: FRAG_* kind, FRAG_ID its identification; REASON: why the layer could not be used (0: it
could). PAYLOAD..TCP_SEQ locate the transport payload for the name parsers; the flow table fills
SERIAL (the flow's number, never reused) and FORWARD (1: sent by the initiator)."""
N_COLUMNS = 20
MAX_DEPTH = 3
"""Tunnels followed inside a packet."""
ROWS_PER_RECORD = MAX_DEPTH + 2
"""The most rows one record can give."""
