"""Materialization metadata a person can read at a glance: rows, partitions, snapshot, schema, preview."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from resources.iceberg.window_writes import WriteResult

PREVIEW_ROWS = 5


def column_schema(
    schema: StructType, descriptions: Mapping[str, str] | None = None
) -> dg.TableSchema:
    """Spark schema -> Dagster column schema (`dagster/column_schema`), each column with its
    description from `descriptions` (the catalog's, `aqi_assets.catalog.columns`)."""
    described = descriptions or {}
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=f.name,
                type=f.dataType.simpleString(),
                description=described.get(f.name),
                constraints=None,
            )
            for f in schema.fields
        ]
    )


def partition_row_counts(
    written: DataFrame, window_column: str, partition_keys: Sequence[str]
) -> dict[str, int]:
    """Rows of `written` per daily partition key (0 where none), counted in one grouped Spark
    job however long the range: the run's partitions share one MaterializeResult, so each gets
    its own `dagster/partition_row_count` from this."""
    rows = written.groupBy(F.to_date(window_column).alias("day")).count().collect()
    counted = {r["day"].isoformat(): r["count"] for r in rows if r["day"] is not None}
    return {key: counted.get(key, 0) for key in partition_keys}


def markdown_preview(df: DataFrame, rows: int = PREVIEW_ROWS) -> str:
    """The first rows of `df` as a markdown table (one small Spark job)."""
    sample = df.limit(rows).collect()
    header = "| " + " | ".join(df.columns) + " |"
    rule = "|" + "---|" * len(df.columns)
    body = ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in sample]
    return "\n".join([header, rule, *body])


def days_in(start: date, end: date) -> list[str]:
    """ISO days from start (inclusive) to end (exclusive)."""
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days)]


def write_metadata(
    result: WriteResult,
    table_window: DataFrame,
    *,
    partitions: list[str] | None = None,
    preview: DataFrame | None = None,
    descriptions: Mapping[str, str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Standard metadata of one Iceberg commit plus asset-specific `extra` entries.

    `table_window` reads the table back (the rows just written): the schema comes from it, the
    preview too unless `preview` holds the same rows more cheaply (a cached frame).
    `dagster/row_count` is the table's rows after the commit, as Dagster means it; what the
    commit wrote is `rows_written`.
    """
    metadata: dict[str, Any] = {
        "table": result.table,
        "dagster/table_name": result.table,
        "dagster/row_count": result.total_records,
        "rows_written": result.added_records,
        "rows_replaced": result.deleted_records,
        "table_rows_total": result.total_records,
        "iceberg_snapshot_id": str(result.snapshot_id),
        "changed_partitions": result.changed_partitions,
        "dagster/column_schema": column_schema(table_window.schema, descriptions),
        "preview": dg.MetadataValue.md(
            markdown_preview(table_window if preview is None else preview)
        ),
        "spark_application_id": table_window.sparkSession.sparkContext.applicationId,
    }
    if result.added_columns:
        metadata["schema_added_columns"] = ", ".join(result.added_columns)
    if partitions is not None:
        metadata["partitions_written"] = len(partitions)
        metadata["partition_range"] = (
            f"{partitions[0]} .. {partitions[-1]}" if partitions else "none"
        )
    metadata.update(extra)
    return metadata


def utc_now() -> datetime:
    """The current instant, timezone-aware UTC."""
    return datetime.now(UTC)
