"""The codes the compiled name picker (`agent.names.pick`) and the name finder share. The build
turns them into C constants the picker cimports (see setup.py)."""

from __future__ import annotations

DNS_PORT = 53
SNI, SNI_ECH, HTTP = range(3)
"""Where a name settled by compiled code comes from: a ClientHello (with ECH: the outer name),
a Host."""
COPIED = 4
"""Or'ed into the source by `pick.first_name`: the name lies in the caller's scratch buffer (a
ClientHello over several records), not in the stream's bytes."""
DECIDED, SLOW, NAMED = 1, 2, 4
"""Per-flow flags: see `agent.names.pick`."""
SYN_SLOTS = 1 << 16
