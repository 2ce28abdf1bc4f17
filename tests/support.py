"""Helpers several test modules share."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scapy.packet import Packet

from agent.capture import open_capture
from agent.cli.base import utcnow
from agent.intel.store import Store, read_bytes
from agent.model import Flow
from agent.wire.batch import RecordBatch
from pcaps.capfile import SEC, columns
from tests.truth import SHARED, analyze


@dataclass(frozen=True)
class Outcome:
    """Everything `analyze` reports, in a form that compares across file names."""

    flows: list[Flow]
    """Sorted, with serials zeroed, so captures holding the same packets compare equal."""
    stats: dict[str, object]
    warnings: list[tuple[int, str]]
    error: tuple[type, int, str] | None


def outcome(path: Path) -> Outcome:
    flows, stats, err = analyze(path)
    summary = stats.as_dict()
    del summary["warnings"]
    summary["link_types"] = {str(t["number"]): t["records"] for t in summary["link_types"]}
    return Outcome(
        sorted((f._replace(serial=0) for f in flows), key=repr),  # serials count per capture
        summary,
        [(w.offset, w.reason) for w in stats.warnings],
        None if err is None else (type(err), err.offset, err.reason),
    )


@dataclass(frozen=True)
class Seen:
    ts_ns: int
    caplen: int
    origlen: int
    linktype: int
    file_offset: int


def records_of(path: Path) -> list[Seen]:
    """What the reader itself yields, record by record."""
    seen: list[Seen] = []
    with open_capture(str(path)) as source:
        for b in source.batches():
            rows = zip(b.ts_ns, b.caplen, b.origlen, b.linktype, b.file_offset, strict=True)
            seen.extend(Seen(*map(int, row)) for row in rows)
    return seen


class Hang(Exception):
    pass


PATIENCE = 300.0
"""The bound, in wall seconds, on every wait for a condition in the tests: a wait ends as soon
as its condition holds, so the bound only decides when a stuck peer fails the test; it is this
long because two suites on a busy 2-core machine stall a process for tens of seconds."""


@contextmanager
def deadline(seconds: float, cpu: bool = True) -> Iterator[None]:
    """Turn a loop that never returns into a test failure instead of a stuck test run. A reader
    is bounded in its CPU seconds, which a busy machine does not stretch; a wait on another
    process (`cpu=False`) in wall seconds."""
    timer, signum = (signal.ITIMER_PROF, signal.SIGPROF) if cpu else (
        signal.ITIMER_REAL, signal.SIGALRM)  # fmt: skip
    clock = "CPU seconds" if cpu else "s"

    def fire(_signum: int, _frame: object) -> None:
        raise Hang(f"still running after {seconds} {clock}: it loops forever or is stuck")

    old = signal.signal(signum, fire)
    signal.setitimer(timer, seconds)
    try:
        yield
    finally:
        signal.setitimer(timer, 0)
        signal.signal(signum, old)


def wait_for(done: Callable[[], object], what: str, seconds: float = PATIENCE) -> None:
    """Poll `done` until it holds; fail saying `what` was waited for if it never does."""
    end = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < end, f"waited {seconds:.0f} s for {what}"
        time.sleep(0.01)


def ended(proc: subprocess.Popen[Any], what: str = "") -> int:
    """Wait for a process to exit (bounded by PATIENCE) and return its exit code."""
    try:
        return proc.wait(PATIENCE)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"waited {PATIENCE:.0f} s for {what or proc.args!r} to exit") from None


def until_ready(notify: socket.socket, proc: subprocess.Popen[str]) -> None:
    """Wait for the agent's READY=1 on systemd's readiness socket `notify`; an agent that exits
    first fails the test at once, with its stderr."""
    notify.settimeout(0.1)
    end = time.monotonic() + PATIENCE
    while True:
        try:
            said = notify.recv(256)
            break
        except TimeoutError:
            if proc.poll() is not None:
                err = proc.stderr.read() if proc.stderr else ""
                raise AssertionError(f"the agent exited {proc.returncode} before READY: {err}"
                                     ) from None  # fmt: skip
            assert time.monotonic() < end, f"waited {PATIENCE:.0f} s for the agent's READY"
    assert said == b"READY=1", said


PROVIDER_FILES = ("aws-ip-ranges.json", "gcp-cloud.json", "oci-public_ip_ranges.json")
"""The real provider range files most end-to-end tests judge with."""


def real_store(root: Path, files: Sequence[str] = PROVIDER_FILES, geo: bool = True) -> Store:
    """A ranges store at `root` holding the real range files (and DB-IP's country data) from
    ../shared; the caller skips first when ../shared is absent."""
    store = Store(root)
    paths = [SHARED / "ranges" / n for n in files]
    paths += sorted((SHARED / "geo").glob("*.csv.gz")) if geo else []
    for path in paths:
        store.add(read_bytes(str(path)), str(path), utcnow())
    return store


def batch_of(packets: list[tuple[float, Packet | bytes]]) -> RecordBatch:
    """Frames, each at its time in seconds, as one batch of Ethernet records: what a capture
    reader yields, without a file."""
    data, offsets, lengths = columns([bytes(p) for _, p in packets])
    ts = np.array([int(t * SEC) for t, _ in packets], np.int64)
    ones = np.ones(len(packets), np.int64)
    return RecordBatch(data, offsets, lengths, lengths.copy(), ts, ones, offsets)


def tcpdump_selected(capture: Path, expr: str, out: Path) -> int:
    """Write what `tcpdump -r CAPTURE EXPR` selects to `out` (a pcap, nanosecond stamps, so no
    time is rounded); -> how many records it wrote. The reference for `--filter`."""
    if shutil.which("tcpdump") is None:
        pytest.skip("needs tcpdump, the reference for --filter (.ci/run installs it)")
    subprocess.run(["tcpdump", "-r", str(capture), "-w", str(out), "--time-stamp-precision=nano",
                    expr], capture_output=True, timeout=120, check=True)  # fmt: skip
    with open_capture(str(out)) as source:
        return sum(b.size for b in source.batches())
