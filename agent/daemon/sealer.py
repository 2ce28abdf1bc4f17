"""The daemon's own sealing of its journal into the evidence lake (the `lake` setting): each
closed UTC day once, `lake_delay` seconds after midnight, and at every start, which catches up
on days missed or cut short by a crash.

The work is `residency lake seal --new-only` in a child process at the lowest CPU priority, so
building Parquet neither holds the daemon's GIL nor stops it capturing. The seal reads only a
journal that verifies and writes each file whole (renamed into place) and the manifest last, so
a seal killed at any moment leaves a day unsealed, never half sealed, and the next run seals it.
A lock in the data directory, held by the child, keeps a restarted daemon from starting a
second seal while a killed daemon's child still runs.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path

from agent.daemon.config import Config
from agent.daemon.metrics import Metrics
from agent.errors import ConfigError, ResidencyError
from agent.policy.judge import Verdict
from agent.report.sign import load_private

DAY_NS = 86_400 * 1_000_000_000
RETRY_SECONDS = 300.0
"""After a seal fails (the lake unreachable, say), or another still runs."""
LOCK = "lake.lock"


class Sealer:
    """Starts and watches the seals; as a sink of the chain, it counts the flows that arrive
    for a day sealed already (`residency_lake_late_flows_total`)."""

    def __init__(self, config: Config, host: str, metrics: Metrics) -> None:
        from agent.fleet.lake import check_host  # pyarrow's, loaded only when sealing

        key = config.lake_key_path
        try:
            load_private(key.read_bytes(), str(key))
            check_host(host)
        except (OSError, ResidencyError) as err:
            why = err.strerror if isinstance(err, OSError) else str(err)
            raise ConfigError(f"lake: cannot seal into {config.lake}: {why} (the key: "
                              f"`residency keys generate {host}` as {key})") from err  # fmt: skip
        self.command = [
            sys.executable, "-m", "agent", "lake", "seal", "--journal", str(config.journal_path),
            "--lake", config.lake, "--key", str(key), "--host", host,
            "--settle", f"{config.lake_delay:g}", "--new-only",
        ]  # fmt: skip
        self.delay_ns = int(config.lake_delay * 1e9)
        self.lock_path = Path(config.data_dir) / LOCK
        self.child: subprocess.Popen[bytes] | None = None
        self.lock = -1
        self.target = 0
        self.done_through: int | None = None
        """The last day (a day number) closed when a seal last succeeded: those are sealed."""
        self.next_try = 0.0
        self.metrics = metrics
        self.late = 0

    def due(self, now_ns: int, clock: float) -> bool:
        """Whether to seal now: none running, not waiting to retry, and a day has closed since
        the last seal (or none has run since the daemon started)."""
        if self.child is not None or clock < self.next_try:
            return False
        return self.done_through is None or self._closed(now_ns) > self.done_through

    def start(self, now_ns: int, clock: float) -> None:
        """Start the seal, once the heartbeat that closes the day is committed."""
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            self._retry(clock, "a seal started earlier is still running")
            return
        self.child = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=sys.stderr,
                                      pass_fds=(fd,))  # fmt: skip
        with suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, self.child.pid, 19)
        self.lock, self.target = fd, self._closed(now_ns)

    def poll(self, clock: float) -> None:
        """Take the result of a seal that has ended."""
        if self.child is None or self.child.poll() is None:
            return
        code = self.child.returncode
        self._release()
        if code == 0:
            self.done_through = self.target
        else:
            self._retry(clock, f"sealing into the lake failed (exit {code})")

    def stop(self) -> None:
        """The daemon stops: a seal under way is killed, which is safe at any moment (its day
        is sealed at the next start), so stopping never waits on the lake."""
        if self.child is None:
            return
        self.child.kill()
        self.child.wait()
        self._release()

    def add(self, verdicts: Sequence[Verdict], where: str) -> None:
        """Flows that began on a day sealed already: they are in the journal, not the lake."""
        if self.done_through is None:
            return
        end = (self.done_through + 1) * DAY_NS
        late = sum(v.flow.first_ns < end for v in verdicts)
        if late and not self.late:
            print(f"warning: lake: {late} flows began on a day sealed already; they are in the "
                  "journal, not the lake (raise lake_delay)", file=sys.stderr, flush=True)
        self.late += late
        self.metrics.set("residency_lake_late_flows_total", self.late)

    def _closed(self, now_ns: int) -> int:
        """The last day (a day number) that has closed, `lake_delay` after its midnight."""
        return (now_ns - self.delay_ns) // DAY_NS - 1

    def _retry(self, clock: float, why: str) -> None:
        print(f"error: lake: {why}; trying again in {RETRY_SECONDS:g} s", file=sys.stderr,
              flush=True)  # fmt: skip
        self.next_try = clock + RETRY_SECONDS

    def _release(self) -> None:
        self.child = None
        os.close(self.lock)
        self.lock = -1

