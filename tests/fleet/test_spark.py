"""DuckDB, Spark `local[2]` and Spark Connect give byte-identical fleet documents: the same map
over the same sealed rows, the same merge. One JVM for the module: a `local[2]` session, with
the Spark Connect server that pyspark ships started inside it on a loopback port, so the
`sc://` path is a real gRPC client of a real server; both stopped at the module's end."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fleet.conftest import HOSTS, RECORD_SETS, SAID, Fleet, RecordLake

pytest.importorskip("pyspark")
pytest.importorskip("grpc", reason="Spark Connect's client needs grpcio (residency[spark])")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def spark() -> Iterator[str]:
    """The Spark Connect URL of a server in this process's `local[2]` JVM."""
    from agent.fleet.engines import spark_session

    # Port 0: the kernel's pick at bind time, read back from the server. A port picked free
    # beforehand was taken meanwhile on a busy machine (the JVM takes a minute to start there).
    settings = {"spark.connect.grpc.binding.address": "127.0.0.1",
                "spark.connect.grpc.binding.port": "0"}  # fmt: skip
    args = " ".join(f"--conf {k}={v}" for k, v in settings.items())
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PYSPARK_SUBMIT_ARGS", f"{args} pyspark-shell")
        session = spark_session("local[2]")
    server: Any = getattr(session._jvm, "org.apache.spark.sql.connect.service.SparkConnectService")
    server.start(session._jsc.sc())
    module = getattr(session._jvm, "org.apache.spark.sql.connect.service.SparkConnectService$")
    yield f"sc://127.0.0.1:{getattr(module, 'MODULE$').localPort()}"
    none = session._jvm.scala.Option.apply(None)
    server.stop(none, none)  # stop(timeout, unit): Scala's defaults are not seen through py4j
    session.stop()


def test_duckdb_spark_and_spark_connect_give_the_same_bytes(fleet: Fleet, spark: str) -> None:
    lake = str(fleet.root / "lake")
    for host in HOSTS:
        fleet.seal(lake, host)
    docs = {}
    for engine, master in (("duckdb", ""), ("spark", "local[2]"), ("spark", spark)):
        out = fleet.root / f"{engine}-{len(docs)}.json"
        code, said, err = fleet.report(lake, out, "--engine", engine,
                                       *(("--master", master) if master else ()))  # fmt: skip
        assert code == 0, err
        assert said.endswith(SAID)
        docs[master or engine] = out.read_bytes()
    assert docs["duckdb"] == docs["local[2]"] == docs[spark]


def test_a_lake_of_flow_records_gives_the_same_bytes(record_lake: RecordLake, spark: str) -> None:
    """Days sealed from record files (their files have the record columns too), two hosts."""
    for host in RECORD_SETS:
        assert record_lake.seal_records(host)[0] == 0
    docs = []
    for engine, master in (("duckdb", "local[2]"), ("spark", "local[2]"), ("spark", spark)):
        out = record_lake.root / f"{engine}-{len(docs)}.json"
        code, _, err = record_lake.run("fleet", "report", record_lake.lake, "--policy",
                                       str(record_lake.policy), "--host-keys",
                                       str(record_lake.keys), "--out", str(out), "--engine",
                                       engine, "--master", master)  # fmt: skip
        assert code == 0, err
        docs.append(out.read_bytes())
    assert docs[0] == docs[1] == docs[2] and b'"zeek-conn"' in docs[0]


@pytest.mark.parametrize("master", ["sc://127.0.0.1:{port}", "spark://127.0.0.1:{port}"])
def test_an_unreachable_cluster_is_one_line(fleet: Fleet, master: str) -> None:
    """A cluster that is not there is tried once, not for minutes: exit 15, the URL and the
    reason."""
    url = master.format(port=_free_port())  # nothing listens on a port just given back
    lake = str(fleet.root / "lake")
    fleet.seal(lake, HOSTS[0])
    code, _, err = fleet.report(lake, fleet.root / "f.json", "--engine", "spark", "--master", url)
    assert (code, err) == (15, f"error: {url}: cannot reach the Spark cluster: Connection "
                               "refused\n")  # fmt: skip
