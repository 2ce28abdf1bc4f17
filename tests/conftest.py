from __future__ import annotations

from pathlib import Path

import pytest

from tests.truth import FLOWLOGS, PCAPS


@pytest.fixture(scope="session")
def pcaps() -> Path:
    if not PCAPS.is_dir():
        pytest.skip(f"the shared capture corpus is not at {PCAPS} (CI always has it)")
    return PCAPS


@pytest.fixture(scope="session")
def flowlogs() -> Path:
    if not FLOWLOGS.is_dir():
        pytest.skip(f"the shared flow record samples are not at {FLOWLOGS} (CI always has them)")
    return FLOWLOGS
