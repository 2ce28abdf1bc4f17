from __future__ import annotations

from pathlib import Path

import pytest

from tests.truth import SHARED


@pytest.fixture(scope="session")
def ranges_dir() -> Path:
    """The providers' real range files (read in place, never copied into the project)."""
    path = SHARED / "ranges"
    if not path.is_dir():
        pytest.skip(f"the shared provider range files are not at {path} (CI always has them)")
    return path


@pytest.fixture(scope="session")
def geo_dir() -> Path:
    """DB-IP country CSVs (gzipped), read in place."""
    path = SHARED / "geo"
    if not path.is_dir():
        pytest.skip(f"the shared DB-IP country files are not at {path} (CI always has them)")
    return path
