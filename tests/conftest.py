from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.truth import FLOWLOGS, PCAPS

# No test may depend on the machine being idle: hypothesis's per-example deadline (200 ms) and
# its too-slow health check are timing assertions, and a busy machine fails them (a first
# pyarrow call took 1.4 s under load; test_merge's tables were "too slow" to generate).
settings.register_profile("residency", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("residency")


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
