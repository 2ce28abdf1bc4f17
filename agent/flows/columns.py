"""The flow table's rows and codes, by name: the one definition the compiled kernel
(`agent.flows.kernel`) and Python (`agent.flows.table`) both read. The build turns the integers
into C constants the kernel cimports (see setup.py)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Cols = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

# Flow columns: the key, who started it, then counters for side A (the smaller endpoint) and B.
(K0, K1, K2, K3, K4, A_STARTED, PKT_A, PKT_B, IP_A, IP_B, FRAME_A, FRAME_B,
 FLAGS_A, FLAGS_B, FIRST, LAST, STATE, END, SERIAL) = range(19)  # fmt: skip
N_COLUMNS = 19
"""K0..K3: the two addresses (A first), K4: ports, protocol, depth and version (see `_key`)."""
# Fragment columns: the datagram's key, then its flow's key, side and time.
FLOW_KEY, FRAG_SIDE, FRAG_TS = 5, 10, 11
N_FRAG_COLUMNS = 12

FIN_A, FIN_B, RESET = 1, 2, 4
# A_STARTED holds who started the flow (bit 0: side A) and how that was decided (bits 1-2).
A_FIRST = 1
BY_FIRST_PACKET, BY_SYN, BY_PORTS = 0, 1, 2
HOW_SHIFT = 1
DIRECTION_NAMES = ("first-packet", "syn", "ports")
"""How the initiator was decided, by BY_* code, as the analysis names it."""
END_EOF, END_IDLE, END_ACTIVE, END_REUSED = 0, 1, 2, 3
END_NAMES = ("eof", "idle", "active", "reused")

# `state` cells and `account` outcomes.
FREE_FLOWS, ENDED, FREE_FRAGS, NEXT_SERIAL = 0, 1, 2, 3
OK, NEED_ROWS, OUT_FULL = 0, 1, 2
EPHEMERAL = 32768
"""Where Linux starts the ports it picks for clients (Windows and the IANA range start at 49152)."""
EMPTY = -1
"""A free slot of the open-addressing tables (`agent.flows.hashing`)."""
