"""How gold facts read their inputs: a table's current snapshot and the dimensions their checks read."""

from collections.abc import Callable
from datetime import datetime

import dagster as dg
from pyspark.sql import DataFrame

from aqi_assets.catalog.registry import DIM_DATE, TableSpec
from resources.iceberg.window_writes import window_condition
from resources.spark.spark_resource import SparkIcebergResource


def read(spark: SparkIcebergResource, table: TableSpec) -> DataFrame:
    """The current snapshot of `table`; a clear error when it was never materialized."""
    name = spark.table(*table.table)
    if not spark.spark_session.catalog.tableExists(name):
        raise dg.Failure(f"{name} does not exist yet: materialize the asset {table.asset} first.")
    return spark.spark_session.table(name)


def dimensions(
    spark: SparkIcebergResource, start: datetime, end: datetime
) -> Callable[[TableSpec], DataFrame]:
    """The dimension rows the foreign-key checks of a fact over [start, end) read.

    Only the dim_date partitions of the window are read: a fact row of another day is refused
    by its write anyway. A dimension is read when a declared check asks for it.
    """

    def rows(dimension: TableSpec) -> DataFrame:
        found = read(spark, dimension)
        if dimension == DIM_DATE:
            return found.where(window_condition(DIM_DATE.window_column, start.date(), end.date()))
        return found

    return rows
