"""The one way this project writes Iceberg tables: replace a time window atomically."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DataType, StructType

from resources.iceberg.schema_evolution import (
    ADD_COLUMNS,
    OPT_IN,
    REFUSE,
    SchemaEvolution,
    add_columns,
    columns_to_add,
)
from resources.spark.pyspark_compat import current_snapshot, is_unpartitioned

# Tables are partitioned by month, so the fanout writer holds at most a file per month in a
# task; the clustered writer would first sort every task's rows by month (docs/performance.md).
WRITE_OPTIONS = {"fanout-enabled": "true"}
# Iceberg's adaptive split size would pack small files a few to a task on a small driver, each
# check paying task scheduling; the plain 128 MB target packs many small files to a task.
TABLE_PROPERTIES = {
    "format-version": "2",
    "write.distribution-mode": "hash",
    "read.split.adaptive-size.enabled": "false",
}


class SchemaMismatchError(RuntimeError):
    """The frame to write does not match the existing table's schema or layout."""


@dataclass(frozen=True)
class WriteResult:
    """What one Iceberg commit did, read from the snapshot summary (no extra scan of the data)."""

    table: str
    snapshot_id: int | None
    added_records: int
    deleted_records: int
    changed_partitions: int
    total_records: int
    # Columns this write added to the table (only with schema_evolution: add_columns).
    added_columns: tuple[str, ...] = ()


def _describe(schema: StructType) -> dict[str, DataType]:
    return {field.name: field.dataType for field in schema.fields}


def schema_differences(existing: StructType, incoming: StructType) -> list[str]:
    """How `incoming` differs from `existing`, one line per column (empty when they match)."""
    have, want = _describe(existing), _describe(incoming)
    return [
        *(f"{name}: in the table, not written" for name in sorted(set(have) - set(want))),
        *(
            f"{name} {want[name].simpleString()}: written, not in the table"
            for name in sorted(set(want) - set(have))
        ),
        *(
            f"{name}: {have[name].simpleString()} in the table, {want[name].simpleString()} written"
            for name in sorted(set(have) & set(want))
            if have[name] != want[name]
        ),
    ]


def check_schema(
    table: str, existing: StructType, incoming: StructType, evolution: SchemaEvolution = REFUSE
) -> list[tuple[str, str]]:
    """The columns to add under `evolution`; SchemaMismatchError naming each other difference.

    The one schema rule of the project: a table keeps the schema it was created with, and a
    change of what an asset writes is applied deliberately, never as a side effect of a write.
    """
    differences = schema_differences(existing, incoming)
    new = columns_to_add(existing, incoming)
    if not differences or (evolution == ADD_COLUMNS and len(new) == len(differences)):
        return new
    advice = (
        f"If the change is intended, drop the table (DROP TABLE {table}) and re-materialize its "
        "partitions (`aqi backfill`), which recreates it with the new schema; otherwise fix the "
        "asset so it writes the table's columns."
    )
    if len(new) == len(differences):
        advice = (
            "If the new columns are intended (e.g. a pollutant added to the catalogue), launch the "
            f"run again with `{OPT_IN}` in its run config: they are added as nullable columns "
            "and the table's other rows read null there. Otherwise fix the asset."
        )
    raise SchemaMismatchError(
        f"{table} does not have the schema its asset writes; nothing was written.\n  "
        + "\n  ".join(differences)
        + f"\n{advice}"
    )


def ensure_table(
    spark: SparkSession,
    table: str,
    schema: StructType,
    partitioned_by: Column | None,
    evolution: SchemaEvolution = REFUSE,
) -> tuple[str, ...]:
    """Create the namespace and an empty Iceberg table when missing; otherwise check that the
    table has exactly `schema` (and a partitioning when `partitioned_by` is given), adding the
    missing columns first under `evolution`. Returns the columns added."""
    if spark.catalog.tableExists(table):
        new = check_schema(table, spark.table(table).schema, schema, evolution)
        if partitioned_by is not None and is_unpartitioned(spark, table):
            # A window is replaced by overwriting whole months: an unpartitioned table would
            # have Iceberg refuse the delete with a far less helpful message.
            raise SchemaMismatchError(
                f"{table} is not partitioned, but windows are written to tables partitioned by "
                f"month: drop the table (DROP TABLE {table}) and re-materialize its partitions."
            )
        add_columns(spark, table, new)
        return tuple(name for name, _ in new)
    ensure_namespace(spark, table.rsplit(".", 1)[0])
    writer = spark.createDataFrame([], schema).writeTo(table).using("iceberg")
    for key, value in TABLE_PROPERTIES.items():
        writer = writer.tableProperty(key, value)
    if partitioned_by is not None:
        writer = writer.partitionedBy(partitioned_by)
    writer.create()
    return ()


def ensure_namespace(spark: SparkSession, namespace: str) -> None:
    """Create `namespace` unless it exists, also when another writer creates it at once."""
    try:
        spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {namespace}")
    except Exception:
        # A JDBC catalog inserts the namespace's rows after checking for them: of two writers
        # doing both at once, the second fails on the database's key (the Hadoop one's mkdir
        # cannot). The namespace is then there, which is all this needs.
        if not spark.catalog.databaseExists(namespace):
            raise


def window_condition(column: str, start: date | datetime, end: date | datetime) -> Column:
    """`start <= column < end` as a Spark condition; dates for date columns, instants otherwise."""
    if isinstance(start, datetime):
        lo, hi = F.lit(start).cast("timestamp"), F.lit(end).cast("timestamp")
    else:
        lo, hi = F.lit(start).cast("date"), F.lit(end).cast("date")
    return (F.col(column) >= lo) & (F.col(column) < hi)


def whole_months(start: date | datetime, end: date | datetime) -> tuple[Any, Any]:
    """The smallest run of whole calendar months holding [start, end)."""
    first = start.replace(day=1)
    if isinstance(first, datetime):
        first = first.replace(hour=0, minute=0, second=0, microsecond=0)
    last = end.replace(day=1)
    if isinstance(last, datetime):
        last = last.replace(hour=0, minute=0, second=0, microsecond=0)
    if last < end:
        last = (
            last.replace(year=last.year + 1, month=1)
            if last.month == 12
            else last.replace(month=last.month + 1)
        )
    return first, last


def last_commit(spark: SparkSession, table: str) -> WriteResult:
    """Summary of the table's current snapshot, from Iceberg's table metadata."""
    snapshot = current_snapshot(spark, table)
    if snapshot is None:
        return WriteResult(table, None, 0, 0, 0, 0)

    def number(key: str) -> int:
        value = snapshot.summary.get(key)
        return int(value) if value is not None else 0

    return WriteResult(
        table=table,
        snapshot_id=snapshot.snapshot_id,
        added_records=number("added-records"),
        deleted_records=number("deleted-records"),
        changed_partitions=number("changed-partition-count"),
        total_records=number("total-records"),
    )


def replace_window(
    df: DataFrame,
    table: str,
    window_column: str,
    start: date | datetime,
    end: date | datetime,
    evolution: SchemaEvolution = REFUSE,
) -> WriteResult:
    """Atomically replace every row with `start <= window_column < end` by `df` (one snapshot).

    Tables are partitioned by month of `window_column`: a 22-month backfill writes 22 files per
    table instead of 655 daily ones (each file costs its writer, footer and manifest entry). A
    window that does not cover whole months rewrites the months it touches, carrying over their
    rows outside the window from the snapshot it started from; the commit fails instead of
    losing rows if another writer committed to those months meanwhile. Rows of `df` outside the
    window are refused: they would survive a later replacement of their own window and so
    duplicate. A failed or killed write leaves the previous snapshot.
    """
    spark = df.sparkSession
    added = ensure_table(spark, table, df.schema, F.months(window_column), evolution)
    window = window_condition(window_column, start, end)
    guarded = df.withColumn(
        window_column,
        F.when(window, F.col(window_column)).otherwise(
            F.raise_error(
                F.concat(
                    F.lit(f"Row outside the window [{start}, {end}) written to {table}: "),
                    F.coalesce(F.col(window_column).cast("string"), F.lit("NULL")),
                )
            )
        ),
    )
    snapshot = current_snapshot(spark, table)
    months = whole_months(start, end)
    rewritten = window_condition(window_column, *months)
    options = dict(WRITE_OPTIONS)
    carried: DataFrame | None = None
    carried_seen = Observation()
    if snapshot is not None:
        # Fail the commit if another writer added or removed rows of these months meanwhile.
        options |= {
            "validate-from-snapshot-id": str(snapshot.snapshot_id),
            "isolation-level": "serializable",
        }
        if months != (start, end):
            carried = spark.sql(
                f"SELECT * FROM {table} VERSION AS OF {snapshot.snapshot_id}"
            ).where(rewritten & ~window)
            # Counted while the write reads them, not by a Spark job of its own.
            counted = carried.observe(carried_seen, F.count(F.lit(1)).alias("rows"))
            # The snapshot read predates columns this write added: they are null there.
            guarded = guarded.unionByName(counted, allowMissingColumns=bool(added))
    guarded.writeTo(table).options(**options).overwrite(rewritten)
    carried_rows = _carried_rows(carried, carried_seen)
    result = last_commit(spark, table)
    return dataclasses.replace(
        result,
        added_records=result.added_records - carried_rows,
        deleted_records=result.deleted_records - carried_rows,
        added_columns=added,
    )


def _carried_rows(carried: DataFrame | None, seen: Observation) -> int:
    """Rows `carried` into the commit, as observed during the write.

    Spark drops the observation from a plan it proves empty (a snapshot without data files);
    the count of such a plan needs no Spark job.
    """
    if carried is None:
        return 0
    observed = seen.get.get("rows")
    return int(observed) if observed is not None else carried.count()


def replace_table(df: DataFrame, table: str, evolution: SchemaEvolution = REFUSE) -> WriteResult:
    """Atomically replace the whole content of an unpartitioned table (one snapshot)."""
    spark = df.sparkSession
    added = ensure_table(spark, table, df.schema, None, evolution)
    df.writeTo(table).options(**WRITE_OPTIONS).overwrite(F.lit(True))
    return dataclasses.replace(last_commit(spark, table), added_columns=added)
