"""The agent's packet sources, the seam at its capture edge: an interface's live ring
(`agent.capture.live.LiveSource`, root or CAP_NET_RAW) on a host, or a capture file replayed as
if it were one (`Replay`), so the agent's judging, journal, alerts and metrics run as a normal
process on real packets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from agent.capture import RecordBatch, open_capture
from agent.model import CaptureWarning


class Interface(Protocol):
    """One captured interface's packets, as the agent's capture thread reads them."""

    interface: str
    path: str
    warnings: list[CaptureWarning]
    received: int
    drops: int

    def batches(self) -> Iterator[RecordBatch]: ...

    def stats(self) -> tuple[int, int]:
        """(packets, drops) since the last call."""
        ...

    def close(self) -> None: ...


class Replay:
    """A capture file's packets as one interface's, at the speed they are read; it ends with
    the file. Its flows keep the capture's own times."""

    def __init__(self, path: str, interface: str = "replay") -> None:
        self.path, self.interface = path, interface
        self.warnings: list[CaptureWarning] = []
        self.received = self.drops = 0
        self._told = 0

    def batches(self) -> Iterator[RecordBatch]:
        with open_capture(self.path) as source:
            for batch in source.batches():
                self.received += batch.size
                yield batch
            self.warnings += source.warnings

    def stats(self) -> tuple[int, int]:
        packets, self._told = self.received - self._told, self.received
        return packets, 0

    def close(self) -> None:
        """Nothing stays open: the file closes when its batches end."""
