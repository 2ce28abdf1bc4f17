"""Headless Chromium, the one browser residency drives: to print reports to PDF, and in the
tests to render the HTML and watch its console. An edge: it runs a process."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps",
    "--disable-extensions", "--no-first-run", "--no-default-browser-check", "--mute-audio",
)  # fmt: skip
"""Quiet and offline: no first-run pages, updates or sync, nothing fetched in the background.
No sandbox, since CI containers run as root."""
TIMEOUT = 120


def find_chromium() -> str | None:
    """$RESIDENCY_CHROMIUM, else the first Chromium or Chrome on the PATH."""
    named = os.environ.get("RESIDENCY_CHROMIUM")
    if named:
        return named
    return next(filter(None, (shutil.which(n) for n in NAMES)), None)


def headless(
    chromium: str, scratch: Path, args: Sequence[str]
) -> subprocess.CompletedProcess[bytes]:
    """Run Chromium once with a throwaway profile under `scratch`; output is captured."""
    profile = scratch / "profile"
    command = [chromium, *FLAGS, f"--user-data-dir={profile}", *args]
    try:
        return subprocess.run(command, capture_output=True, timeout=TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return subprocess.CompletedProcess(command, 1, b"", str(err).encode())
