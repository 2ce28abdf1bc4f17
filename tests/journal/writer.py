"""A journal writer to kill: `python -m tests.journal.writer PATH SEED` appends batches of
flows forever and prints each committed batch's last seq, flushed, after its commit returns."""

from __future__ import annotations

import random
import sys

from agent.journal import Journal, flow_entry, heartbeat_entry, start_entry
from agent.model import Flow


def flow(rng: random.Random, at: int) -> Flow:
    first = at + rng.randrange(1_000_000)
    return Flow(proto=6, src="10.0.0.1", sport=rng.randrange(1024, 65536), dst="192.0.2.7",
                dport=443, depth=0, packets_fwd=3, bytes_fwd=180, frame_bytes_fwd=222,
                packets_rev=2, bytes_rev=120, frame_bytes_rev=148, first_ns=first,
                last_ns=first + rng.randrange(10**9), tcp_flags_fwd=0x12, tcp_flags_rev=0x12,
                end="eof")  # fmt: skip


def main(path: str, seed: int) -> None:
    rng = random.Random(seed)
    with Journal.open(path, create=True) as journal:
        at = journal.head().seq * 1_000_000
        print(journal.append([start_entry(at, {"seed": seed})]), flush=True)
        while True:
            at += 1_000_000
            rows = [
                flow_entry(flow(rng, at), {"decision": "allow"})
                for _ in range(rng.choice((1, 50, 400)))
            ]
            rows.append(heartbeat_entry(at - 1_000_000, at, {"packets": len(rows)}))
            print(journal.append(rows), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
