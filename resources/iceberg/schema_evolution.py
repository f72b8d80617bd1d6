"""The one way a table's schema changes: columns added on purpose, never as a side effect.

A write whose frame has columns the table lacks fails (`window_writes.check_schema`) unless its
run opts in with the Spark resource's `schema_evolution: add_columns`. Then the missing columns
are added as nullable (their old rows read null), each named in the commit's metadata. A column
the table has but the frame lacks, or a changed type, is never evolved: it fails either way.
"""

from __future__ import annotations

from typing import Literal

from pyspark.sql import SparkSession
from pyspark.sql.types import StructType

SchemaEvolution = Literal["refuse", "add_columns"]
REFUSE: SchemaEvolution = "refuse"
ADD_COLUMNS: SchemaEvolution = "add_columns"
# Where a person opts in: the launchpad's run config of the failed run.
OPT_IN = "resources: {spark: {config: {schema_evolution: add_columns}}}"


def columns_to_add(existing: StructType, incoming: StructType) -> list[tuple[str, str]]:
    """(name, SQL type) of each column `incoming` has and `existing` lacks, in frame order."""
    have = set(existing.fieldNames())
    return [(f.name, f.dataType.simpleString()) for f in incoming.fields if f.name not in have]


def add_columns(spark: SparkSession, table: str, columns: list[tuple[str, str]]) -> None:
    """Add `columns` to `table` as nullable columns, in one schema change."""
    if columns:
        added = ", ".join(f"`{name}` {sql_type}" for name, sql_type in columns)
        spark.sql(f"ALTER TABLE {table} ADD COLUMNS ({added})")
