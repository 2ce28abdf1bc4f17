"""The `residency` executable: answers `--version` before importing anything heavy (numpy, the
compiled kernels, every command), then hands over to `agent.cli.main`."""

from __future__ import annotations

import os
import sys

from agent import __version__


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        print(f"residency, version {__version__}")  # click's version_option says the same
        return
    # No command does linear algebra: OpenBLAS's threads, one per core, would only spin.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from agent.cli import main as cli

    cli()
