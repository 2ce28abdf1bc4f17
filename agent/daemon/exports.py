"""Flow exports received live: a UDP socket that NetFlow v5/v9, IPFIX and sFlow exporters send
to, and the collector that turns its datagrams into flow records (`flow_exports` in the
daemon's configuration). The datagrams' own clocks date NetFlow and IPFIX records; sFlow's say
no calendar time, so they are dated by the clock when they arrive, read here, at the edge."""

from __future__ import annotations

import ipaddress
import socket
import time
from typing import Protocol

from agent.errors import ConfigError
from agent.records import FlowRecord
from agent.records.netflow import Collector

MAX_DATAGRAM = 65_535
BURST = 256
"""Datagrams read at most per call, so a flood cannot keep the caller from its other work."""
RECEIVE_BUFFER = 4 << 20


class RecordSource(Protocol):
    """Anything that hands over flow records as they arrive: a collector socket here."""

    name: str

    def receive(self, timeout: float) -> list[FlowRecord]:
        """Records that arrived within `timeout` seconds (none: an empty list)."""
        ...

    def close(self) -> None: ...


def parse_export_url(url: str) -> tuple[str, int]:
    """`udp://127.0.0.1:2055` or `udp://[::1]:2055` -> (address, port); a `ConfigError`
    saying what is wrong otherwise."""
    scheme, _, rest = url.partition("://")
    host, _, port = rest.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        address = str(ipaddress.ip_address(host))
        number = int(port)
    except ValueError:
        number, address = -1, ""
    if scheme != "udp" or not address or not 0 <= number <= 65535:
        raise ConfigError(f"{url!r} is not udp://ADDRESS:PORT (an IP address and a port)")
    return address, number


class ExportSocket:
    """A bound UDP socket and its collector; port 0 lets the kernel pick (see `address`)."""

    def __init__(self, url: str) -> None:
        host, port = parse_export_url(url)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            self.sock.bind((host, port))
        except OSError as err:
            self.sock.close()
            raise ConfigError(f"flow_exports {url}: cannot listen: {err.strerror}") from None
        self.collector = Collector()
        bound = self.sock.getsockname()
        self.name = f"udp://{host}:{bound[1]}" if family == socket.AF_INET else (
            f"udp://[{host}]:{bound[1]}")  # fmt: skip

    def receive(self, timeout: float) -> list[FlowRecord]:
        self.sock.settimeout(timeout)
        got: list[tuple[bytes, str, int, int]] = []
        for _ in range(BURST):
            try:
                data, peer = self.sock.recvfrom(MAX_DATAGRAM)
            except (TimeoutError, BlockingIOError):
                break
            got.append((data, peer[0], 0, time.time_ns()))
            self.sock.setblocking(False)
        return [r for batch in self.collector.collect(got) for r in batch.records()]

    def close(self) -> None:
        self.sock.close()
