"""A live source that cannot start says why with the error of its cause, never "not a capture":
an interface that does not exist is configuration (11), no right to capture is setup (15)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

import pytest

from agent.capture.live import LiveSource
from agent.errors import CaptureError, ConfigError

CHILD = """
from agent.capture.live import LiveSource
from agent.errors import SetupError
try:
    LiveSource("lo")
except SetupError as err:
    print(type(err).__name__, err.exit_code, err)
"""


def test_an_interface_that_does_not_exist_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match=r"^live:rsdnc0: no such network interface$") as err:
        LiveSource("rsdnc0")
    assert not isinstance(err.value, CaptureError) and err.value.exit_code == 11


def test_no_privilege_to_capture_is_a_setup_error() -> None:
    """In a process without CAP_NET_RAW (dropped from its bounding set, so root too lacks it)."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("needs setpriv (util-linux) to drop CAP_NET_RAW")
    drop = [setpriv, "--bounding-set", "-net_raw", "--inh-caps", "-net_raw"]
    done = subprocess.run([*drop, sys.executable, "-c", CHILD], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert done.stdout.strip() == "SetupError 15 live:lo: cannot capture: Operation not permitted"


def needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("live capture needs root (CAP_NET_RAW)")


def test_a_bad_filter_is_a_configuration_error_naming_it() -> None:
    needs_root()
    with pytest.raises(ConfigError) as err:
        LiveSource("lo", "udp prot 9")
    assert str(err.value) == ("live:lo: bad filter 'udp prot 9': can't parse filter "
                              "expression: syntax error")  # fmt: skip


def test_the_filter_is_attached_to_the_socket() -> None:
    """Only datagrams to the filter's port reach the ring, from the first one on."""
    needs_root()
    ports = []
    for _ in range(2):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        ports.append((s, s.getsockname()[1]))
    (_, port), (_, other_port) = ports
    source = LiveSource("lo", f"udp dst port {port}", wait=0.05)
    seen: list[int] = []
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for n in range(200):
                sender.sendto(b"other", ("127.0.0.1", other_port))
                sender.sendto(b"wanted %d" % n, ("127.0.0.1", port))
        for batch in source.batches():
            for off in batch.offset.tolist():
                seen.append(int.from_bytes(batch.data[off + 36 : off + 38]))  # UDP dst port
            if len(seen) >= 200:
                break
    finally:
        source.close()
        for s, _ in ports:
            s.close()
    assert set(seen) == {port} and len(seen) == 200
