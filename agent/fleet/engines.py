"""The engines that carry the map over the lake's rows: DuckDB in-process (Arrow batches) by
default, Apache Spark (`mapInArrow`) when one machine is not enough. Both run the same
`partial.map_batch` and hand back partial tables for the same `partial.merge`, so the fleet
document does not depend on the engine. The engines are imported only here, only when asked
for.

Spark is reached by a master URL: `local[N]` (the default, `local[2]`), a cluster master
(`spark://host:7077`, `yarn`), or Spark Connect (`sc://host:15002`). An S3 lake is read by
Spark as `s3a://` (the cluster needs `hadoop-aws`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds

from agent.errors import LakeError
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
    base = _spark_path(lake, lake.path("flows"))
    frame = session.read.option("basePath", base).parquet(*(_spark_path(lake, f) for f in files))

    def judged(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield partial.to_arrow(partial.map_batch(judge, batch))

    ddl = ", ".join(f"{f.name} {'string' if f.type == pa.string() else 'long'}"
                    for f in partial.SCHEMA)  # fmt: skip
    table = frame.mapInArrow(judged, ddl).toArrow()
    yield from partial.from_arrow([table])


def spark_session(master: str) -> Any:
    """A session for `master`; the settings the lake needs: partition values as text (a host
    named 0042 stays 0042) and nanosecond times read as numbers. A cluster's workers need
    residency installed (`pip install residency[spark]`)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("residency-fleet")
    builder = builder.remote(master) if master.startswith("sc://") else builder.master(master)
    if master.startswith("local"):  # the workers run this Python, with residency importable
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    return (builder.config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
            .config("spark.sql.legacy.parquet.nanosAsLong", "true")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate())  # fmt: skip


def _spark_path(lake: Lake, path: str) -> str:
    return f"s3a://{path}" if lake.uri.startswith("s3://") else f"file://{path}"
