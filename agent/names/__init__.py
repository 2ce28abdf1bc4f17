"""Names on the wire, attached to flows: DNS answers bind names to addresses; TLS and QUIC server
names and HTTP Hosts name their own flow.

    finder.py   NameFinder: fed every decoded batch, asked for the names of ended flows
    pick.py     compiled: the few rows that can carry a name, and the sure one-record cases
    dns.py      DNS answers -> bindings of names to addresses, over UDP and TCP
    repeat.py   compiled: DNS answers already seen, skipped without Python
    tcp.py      where a client stream starts, and its first bytes reassembled in order
"""

from agent.names.finder import NameFinder

__all__ = ["NameFinder"]
