"""Tables made by an earlier version gain the columns a newer asset adds (Iceberg schema evolution)."""

from __future__ import annotations

from pyspark.sql import SparkSession
from pyspark.sql.types import StructType


def add_new_columns(spark: SparkSession, table: str, incoming: StructType) -> list[str]:
    """`ALTER TABLE ... ADD COLUMN` for each column of `incoming` the table lacks; their names.

    Rows already in the table read the new columns as null. Metadata only: no data is rewritten.
    """
    have = {field.name for field in spark.table(table).schema.fields}
    added = [field for field in incoming.fields if field.name not in have]
    for field in added:
        spark.sql(f"ALTER TABLE {table} ADD COLUMN `{field.name}` {field.dataType.simpleString()}")
    return [field.name for field in added]
