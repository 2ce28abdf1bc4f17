"""systemd's readiness protocol (sd_notify), without libsystemd: one datagram to the socket
named in $NOTIFY_SOCKET. Outside systemd the variable is unset and this does nothing."""

from __future__ import annotations

import os
import socket


def sd_notify(state: str) -> bool:
    """Send e.g. "READY=1" or "STOPPING=1"; -> whether a service manager was told."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendto(state.encode(), address)
        except OSError:
            return False
    return True
