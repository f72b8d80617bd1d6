"""The only place that reaches into PySpark's private JVM gateway.

Three things have no public PySpark API: reading an Iceberg table's metadata without a Spark
job, waiting for the driver JVM to exit (a class archive is written at that exit), and telling
the gateway the full names of the classes PySpark names on every call. On the pinned PySpark
(3.5.x) all go through the py4j gateway; on any other version this module warns once and falls
back to public APIs: Iceberg's metadata tables through Spark SQL, a plain `SparkSession.stop()`
(the JVM then exits with the Python process, so no class archive is made), and py4j's own
lookup of short names.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import pyspark
from py4j.java_gateway import java_import
from pyspark import SparkContext
from pyspark.sql import SparkSession

PINNED_SERIES = "3.5."
GATEWAY_USABLE = pyspark.__version__.startswith(PINNED_SERIES)
if not GATEWAY_USABLE:
    logging.getLogger(__name__).warning(
        "PySpark %s is not the pinned %sx: Iceberg metadata is read with Spark SQL and the driver "
        "class archive is not built.",
        pyspark.__version__,
        PINNED_SERIES,
    )


# Classes PySpark names by their short name on every call (`functions` for each `F.*` call).
# py4j tries a short name against each wildcard import in turn, and each miss is a failed class
# lookup in the JVM over its whole class path; imported by full name it is found at once.
SHORT_NAMED_CLASSES = (
    "org.apache.spark.sql.functions",
    "org.apache.spark.api.python.PythonUtils",
    "org.apache.spark.sql.SparkSession",
    "org.apache.spark.sql.SparkSession$",
)


def import_short_named_classes(spark: SparkSession) -> None:
    """Let the gateway find the classes PySpark names most often at the first try."""
    if GATEWAY_USABLE:
        for name in SHORT_NAMED_CLASSES:
            java_import(spark.sparkContext._jvm, name)


@dataclass(frozen=True)
class SnapshotInfo:
    """An Iceberg table's current snapshot: its id and summary (added-records, ...)."""

    snapshot_id: int
    summary: dict[str, str]


def current_snapshot(spark: SparkSession, table: str) -> SnapshotInfo | None:
    """The current snapshot of `table` (None for a table without one), at its newest metadata."""
    if GATEWAY_USABLE:
        snapshot = _jvm_table(spark, table).currentSnapshot()
        if snapshot is None:
            return None
        # One gateway call for the whole snapshot: reading the summary map entry by entry costs
        # two calls per entry. Iceberg's JSON puts the operation inside the summary.
        parsed = json.loads(
            spark.sparkContext._jvm.org.apache.iceberg.SnapshotParser.toJson(snapshot)
        )
        summary = {k: v for k, v in parsed.get("summary", {}).items() if k != "operation"}
        return SnapshotInfo(parsed["snapshot-id"], summary)
    spark.sql(f"REFRESH TABLE {table}")
    row = spark.sql(
        f"SELECT s.snapshot_id, s.summary FROM {table}.refs r "
        f"JOIN {table}.snapshots s ON r.snapshot_id = s.snapshot_id WHERE r.name = 'main'"
    ).first()
    return SnapshotInfo(row["snapshot_id"], dict(row["summary"])) if row else None


def is_unpartitioned(spark: SparkSession, table: str) -> bool:
    """Whether `table`'s current partition spec has no fields."""
    if GATEWAY_USABLE:
        return bool(_jvm_table(spark, table).spec().isUnpartitioned())
    return "partition" not in spark.table(f"{table}.partitions").columns


def _jvm_table(spark: SparkSession, table: str):
    """The JVM Iceberg table behind `table`, refreshed to its newest metadata."""
    iceberg = spark.sparkContext._jvm.org.apache.iceberg.spark.Spark3Util.loadIcebergTable(
        spark._jsparkSession, table
    )
    iceberg.refresh()
    return iceberg


def stop_driver_jvm(timeout: float) -> int | None:
    """Stop this process's SparkContext and wait for its JVM to exit: the exit code.

    None when there was no JVM, or when this PySpark version cannot wait for it.
    """
    active = SparkSession.getActiveSession()
    if not GATEWAY_USABLE:
        if active is not None:
            active.stop()
        return None
    context = SparkContext._active_spark_context
    if context is not None:
        context.stop()
    gateway = SparkContext._gateway
    if gateway is None:
        return None
    process = gateway.proc
    gateway.shutdown()
    # The gateway server exits (System.exit(0)) when its standard input closes.
    process.stdin.close()
    code = process.wait(timeout=timeout)
    SparkContext._gateway = None
    SparkContext._jvm = None
    return code


def driver_scratch_folders_after_gc() -> list[str] | None:
    """The driver's block-manager folders (shuffle and cached blocks), after a JVM GC.

    The GC lets the driver's ContextCleaner delete collected shuffles' files (in its own thread,
    just after). None when this process runs no driver; [] on a PySpark other than the pinned one,
    which offers no public way to these folders.
    """
    if not GATEWAY_USABLE:
        return None if SparkSession.getActiveSession() is None else []
    # Runs start the session in their own threads: the process's context, not the thread's.
    context = SparkContext._active_spark_context
    if context is None:
        return None
    context._jvm.System.gc()
    disk = context._jsc.sc().env().blockManager().diskBlockManager()
    return [folder.getAbsolutePath() for folder in disk.localDirs()]
