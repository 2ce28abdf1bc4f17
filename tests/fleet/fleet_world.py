"""A small fleet without a daemon: journals written with the journal API as the agent writes
them (start, inputs, flows as they end, heartbeats, stop), to real addresses in the providers'
real range files, and the range store that places them.

Each host watches 2026-03-02 and 2026-03-03 (UTC) and into 00:30 of 2026-03-04, so both days
are closed, except for a 2-hour stretch on 2026-03-02 (08:00-10:00) when it did not run. Per
host and day, `FLOWS` gives the flows it journals to each destination.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from agent.intel.store import Store, read_bytes
from agent.journal import (
    Entry,
    Journal,
    flow_entry,
    heartbeat_entry,
    inputs_entry,
    start_entry,
    stop_entry,
)
from agent.model import Flow, Process

ROOT = Path(__file__).resolve().parents[2]
RANGES = ROOT.parent / "shared" / "ranges"
POLICY = ROOT / "rules" / "policy.yaml"
RANGE_FILES = (RANGES / "oci-public_ip_ranges.json", RANGES / "aws-ip-ranges.json",
               ROOT / "rules" / "sites.yaml")  # fmt: skip
SEC = 1_000_000_000
HOUR = 3600 * SEC
DAY1 = int(datetime(2026, 3, 2, tzinfo=UTC).timestamp()) * SEC
DAYS = ("2026-03-02", "2026-03-03")
GAP = (DAY1 + 8 * HOUR, DAY1 + 10 * HOUR)
"""When the agent was not running, on the first day."""
END = DAY1 + 48 * HOUR + HOUR // 2

ASHBURN, SINGAPORE, FRANKFURT, AWS_IRELAND, NOWHERE = (
    "129.80.0.10", "129.150.32.10", "79.76.96.10", "3.4.12.4", "1.1.1.1")  # fmt: skip
"""OCI us-ashburn-1 (approved), OCI ap-singapore-1 and eu-frankfurt-1 and AWS eu-west-1
(violations), and an address in none of the files (unverified)."""
FLOWS = {ASHBURN: 5, SINGAPORE: 2, FRANKFURT: 1, AWS_IRELAND: 1, NOWHERE: 1}
OUTSIDE = 2
"""Flows from a client outside the policy's user networks (out of scope), per host-day."""
WEAK_RULE = """\
  - name: cdn-by-name
    description: Weak evidence only; it cannot approve what Singapore's range places
    names: [h6.example.com, h10.example.com, h22.example.com]
"""
"""Names the flows to NOWHERE (serials 10 and 22: placed by nothing, so approved on weak
evidence only) and one to Singapore (serial 6: placed by OCI's range, so still a violation)."""
APP = Process(4242, "app", "/usr/bin/app", "svc", ("app", "--serve"), DAY1 - HOUR)


def weak_policy(folder: Path) -> Path:
    """The default policy with `WEAK_RULE` first among its approvals."""
    text = POLICY.read_text().replace("approve:\n", "approve:\n" + WEAK_RULE, 1)
    path = folder / "weak-policy.yaml"
    path.write_text(text.replace("name: us-user-traffic", "name: us-user-traffic-weak"))
    return path


def store(home: Path) -> Store:
    s = Store(home)
    for path in RANGE_FILES:
        s.add(read_bytes(str(path)), str(path), datetime(2026, 3, 1, tzinfo=UTC))
    return s


def flows(host_no: int) -> list[Flow]:
    out = []
    serial = 0
    for day in range(2):
        at = DAY1 + day * 24 * HOUR + 11 * HOUR + host_no * SEC
        dests = [d for d, n in FLOWS.items() for _ in range(n)]
        sources = ["10.20.0.15"] * len(dests) + ["192.168.77.5"] * OUTSIDE
        dests += [ASHBURN] * OUTSIDE
        for src, dst in zip(sources, dests, strict=True):
            serial += 1
            first = at + serial * 60 * SEC
            out.append(Flow(proto=6, src=src, sport=40000 + serial, dst=dst, dport=443, depth=0,
                            packets_fwd=10, bytes_fwd=1000 + serial,
                            frame_bytes_fwd=1100 + serial, packets_rev=8,
                            bytes_rev=5000 + host_no, frame_bytes_rev=5100, first_ns=first,
                            last_ns=first + 30 * SEC, tcp_flags_fwd=0x1B, tcp_flags_rev=0x1B,
                            end="eof", serial=serial,
                            names=(("sni", f"h{serial}.example.com"),)))  # fmt: skip
    return out


def entries(host: str, flows: list[Flow]) -> list[Entry]:
    runs = ((DAY1, GAP[0]), (GAP[1], END))
    timed: list[tuple[int, int, Entry]] = []
    for start, stop in runs:
        info = {"version": "test", "host": host, "interfaces": ["eth0"]}
        timed += [(start, 0, start_entry(start, info)),
                  (start, 1, inputs_entry(start, "0" * 64, {"sites": "x"})),
                  (stop, 4, stop_entry(stop, "signal"))]  # fmt: skip
        for since in range(start, stop, HOUR):
            at = min(since + HOUR, stop)
            timed.append((at, 3, heartbeat_entry(since, at, {"judged": 1})))
    for f in flows:
        owner = APP if f.dst == ASHBURN else None
        timed.append((f.last_ns, 2, flow_entry(f, {"decision": "journaled"}, owner)))
    return [e for _, _, e in sorted(timed, key=lambda t: (t[0], t[1]))]


def write_journal(path: Path, host: str, host_no: int = 0) -> Path:
    with Journal.open(path, create=True) as journal:
        journal.append(entries(host, flows(host_no)))
    return path
