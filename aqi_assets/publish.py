"""Write an asset's frame to its Iceberg table and describe the commit for Dagster."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import dagster as dg
from pyspark.sql import Column, DataFrame

from aqi_assets.metadata import days_in, write_metadata
from aqi_assets.tables import Table
from resources.iceberg_writes import replace_table, replace_window, window_condition
from resources.spark import SparkIcebergResource


def publish_window(
    spark: SparkIcebergResource,
    table: Table,
    df: DataFrame,
    window_column: str,
    start: date | datetime,
    end: date | datetime,
    partitioned_by: list[Column],
    asset_key: dg.AssetKey | None = None,
    **extra: Any,
) -> dg.MaterializeResult:
    """Replace the rows of [start, end) in `table` by `df` in one commit; return its metadata."""
    name = spark.table(*table)
    result = replace_window(df, name, window_column, start, end, partitioned_by)
    written = spark.spark_session.table(name).where(window_condition(window_column, start, end))
    first = start.date() if isinstance(start, datetime) else start
    last = end.date() if isinstance(end, datetime) else end
    return dg.MaterializeResult(
        asset_key=asset_key,
        metadata=write_metadata(result, written, partitions=days_in(first, last), **extra),
    )


def publish_table(
    spark: SparkIcebergResource, table: Table, df: DataFrame, **extra: Any
) -> dg.MaterializeResult:
    """Replace the whole content of an unpartitioned `table` by `df` in one commit."""
    name = spark.table(*table)
    result = replace_table(df, name)
    return dg.MaterializeResult(
        metadata=write_metadata(result, spark.spark_session.table(name), **extra)
    )
