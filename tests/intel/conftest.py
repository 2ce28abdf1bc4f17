from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.intel.records import RangeSet
from tests.intel.rows import load
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


# For the modules of one provider file each, which name it (NAME) and its parser (PARSER).
@pytest.fixture(scope="module")
def data(request: pytest.FixtureRequest, ranges_dir: Path) -> bytes:
    """The module's provider file, as bytes."""
    return (ranges_dir / request.module.NAME).read_bytes()


@pytest.fixture(scope="module")
def doc(request: pytest.FixtureRequest, ranges_dir: Path) -> Any:
    """The module's provider file, as JSON."""
    return load(ranges_dir / request.module.NAME)


@pytest.fixture(scope="module")
def rs(request: pytest.FixtureRequest, data: bytes) -> RangeSet:
    """The module's provider file, through the module's parser."""
    parsed: RangeSet = request.module.PARSER(data, request.module.NAME)
    return parsed
