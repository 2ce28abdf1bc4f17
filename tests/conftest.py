from __future__ import annotations

from pathlib import Path

import pytest

from tests.truth import PCAPS


@pytest.fixture(scope="session")
def pcaps() -> Path:
    if not PCAPS.is_dir():
        pytest.skip(f"the shared capture corpus is not at {PCAPS} (CI always has it)")
    return PCAPS
