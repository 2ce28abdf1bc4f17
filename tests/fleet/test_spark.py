"""DuckDB and Spark `local[2]` give byte-identical fleet documents: the same map over the same
sealed rows, the same merge. One Spark session for the module, stopped at its end."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fleet.conftest import HOSTS, SAID, Fleet

pytest.importorskip("pyspark")


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from agent.fleet.engines import spark_session

    session = spark_session("local[2]")
    yield session
    session.stop()


def test_duckdb_and_spark_give_the_same_bytes(fleet: Fleet, spark: Any) -> None:
    lake = str(fleet.root / "lake")
    for host in HOSTS:
        fleet.seal(lake, host)
    docs = {}
    for engine in ("duckdb", "spark"):
        out = fleet.root / f"{engine}.json"
        code, said, err = fleet.report(lake, out, "--engine", engine)
        assert code == 0, err
        assert said.endswith(SAID)
        docs[engine] = out.read_bytes()
    assert docs["duckdb"] == docs["spark"]
