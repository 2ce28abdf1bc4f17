"""A live source that cannot start says why with the error of its cause, never "not a capture":
an interface that does not exist is configuration (11), no right to capture is setup (15)."""

from __future__ import annotations

import shutil
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
