"""The engines that carry the map over the lake's rows: DuckDB in-process (Arrow batches) by
default, Apache Spark (`mapInArrow`) when one machine is not enough. Both run the same
`partial.map_batch` and hand back partial tables for the same `partial.merge`, so the fleet
document does not depend on the engine. The engines are imported only here, only when asked
for.

Spark is reached by a master URL: `local[N]` (the default, `local[2]`), a cluster master
(`spark://host:7077`, `yarn`), or Spark Connect (`sc://host:15002`). The cluster reads the lake
itself: a folder must be at the same path there (shared storage), an S3 lake is read as `s3a://`
(the cluster needs `hadoop-aws`). An edge: it starts a JVM or connects to a cluster.
"""

from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds

from agent.errors import LakeError, SetupError
from agent.fleet import partial
from agent.fleet.lake import Lake
from agent.policy.judge import Judge

BATCH_ROWS = 65_536
PARTITIONS = ds.partitioning(pa.schema([("date", pa.string()), ("host", pa.string())]),
                             flavor="hive")  # fmt: skip
ENGINES = ("duckdb", "spark")


def partials(engine: str, lake: Lake, files: Sequence[str], judge: Judge,
             master: str = "local[2]") -> partial.Partial:  # fmt: skip
    """The merged partial table of the sealed files `files` (paths in the lake)."""
    if not files:
        return {}
    if engine == "duckdb":
        return partial.merge_all(_duckdb(lake, files, judge))
    if engine == "spark":
        return partial.merge_all(_spark(lake, files, judge, master))
    raise LakeError(f"unknown engine {engine!r}: one of {', '.join(ENGINES)}")


def _duckdb(lake: Lake, files: Sequence[str], judge: Judge) -> Iterator[partial.Partial]:
    import duckdb

    base = lake.path("flows")
    dataset = ds.dataset(list(files), filesystem=lake.fs, format="parquet",
                         partitioning=PARTITIONS, partition_base_dir=base)  # fmt: skip
    con = duckdb.connect()
    try:
        con.register("flows", dataset)
        reader = con.sql("SELECT * FROM flows").to_arrow_reader(BATCH_ROWS)
        for batch in reader:
            yield partial.map_batch(judge, batch)
    finally:
        con.close()


def _spark(
    lake: Lake, files: Sequence[str], judge: Judge, master: str
) -> Iterator[partial.Partial]:
    session = spark_session(master)
    try:
        base = _spark_path(lake, lake.path("flows"))
        paths = [_spark_path(lake, f) for f in files]
        frame = session.read.option("basePath", base).parquet(*paths)

        def judged(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for batch in batches:
                yield partial.to_arrow(partial.map_batch(judge, batch))

        ddl = ", ".join(f"{f.name} {'string' if f.type == pa.string() else 'long'}"
                        for f in partial.SCHEMA)  # fmt: skip
        table = frame.mapInArrow(judged, ddl).toArrow()
    finally:
        if master.startswith(CONNECT):  # a client of the server's session: let it go
            session.stop()
    yield from partial.from_arrow([table])


CONNECT = "sc://"
SQL_SETTINGS = {
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    "spark.sql.legacy.parquet.nanosAsLong": "true",
    "spark.sql.session.timeZone": "UTC",
}
"""What the lake needs of any session: partition values as text (a host named 0042 stays
0042), nanosecond times read as numbers, UTC. Session settings, so Spark Connect takes them."""
REACH_SECONDS = 10.0


def spark_session(master: str) -> Any:
    """A session for `master`: `local[N]` runs here; a cluster master (`spark://host:7077`,
    `yarn`, `k8s://...`) or a Spark Connect server (`sc://host:15002`) is tried for
    `REACH_SECONDS` first, so an unreachable cluster is one line, not minutes of retries. A
    cluster's workers need residency installed (`pip install residency[spark]`)."""
    reach(master)
    builder = _connect(master) if master.startswith(CONNECT) else _classic(master)
    for key, value in SQL_SETTINGS.items():
        builder = builder.config(key, value)
    return builder.appName("residency-fleet").getOrCreate()


def _classic(master: str) -> Any:
    try:
        from pyspark.sql import SparkSession
    except ImportError as err:
        raise _missing(err) from err
    if master.startswith("local"):  # the workers run this Python, with residency importable
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return SparkSession.builder.master(master).config("spark.ui.enabled", "false")


def _connect(master: str) -> Any:
    """The Connect client's own class, which (unlike the `SparkSession` facade) may share a
    process with a local session, as it does in the tests."""
    try:
        from pyspark.sql.connect.session import SparkSession
    except ImportError as err:
        raise _missing(err) from err
    return SparkSession.builder.remote(master)


def _missing(err: ImportError) -> SetupError:
    return SetupError(f"--engine spark needs pyspark with its Connect client ({err.name or err} "
                      "is missing): pip install 'residency[spark]'")  # fmt: skip


def reach(master: str) -> None:
    """Nothing when `master` names no host and port (`local[2]`, `yarn`) or something listens
    there; else SetupError naming the URL and the reason."""
    found = re.match(r"(?:sc|spark)://\[?([^\]/:]+)\]?:(\d+)", master)
    if found is None:
        return
    host, port = found.group(1), int(found.group(2))
    try:
        socket.create_connection((host, port), timeout=REACH_SECONDS).close()
    except OSError as err:
        reason = err.strerror or str(err) or type(err).__name__
        raise SetupError(f"{master}: cannot reach the Spark cluster: {reason}") from err


def _spark_path(lake: Lake, path: str) -> str:
    return f"s3a://{path}" if lake.uri.startswith("s3://") else f"file://{path}"
