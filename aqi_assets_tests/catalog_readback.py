"""Every gold table read twice, by Spark and by pyiceberg through the same Iceberg catalog, in a
form tests compare: sorted rows, every timestamp as microseconds since the epoch (UTC)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from aqi_assets.catalog.registry import TableSpec, tables_where
from aqi_assets.catalog.table_spec import Layer
from aqi_assets_tests.cli_runs import ROOT
from resources.iceberg.lakehouse_reader import LakehouseReader
from resources.spark.spark_resource import SparkIcebergResource

GOLD: tuple[TableSpec, ...] = tuple(tables_where(layer=Layer.GOLD))

# The code location's own Spark resource (AQI_* from the environment) writes each gold table,
# read through its catalog, to <argv[1]>/<asset> as Parquet.
SPARK_EXPORT = """
import sys
from aqi_assets.config.profiles import spark_resource
from aqi_assets.config.settings import load_settings
from aqi_assets_tests.catalog_readback import export

export(spark_resource(load_settings()), sys.argv[1])
"""


def export(resource: SparkIcebergResource, folder: str | Path) -> None:
    """Write every gold table that exists, as Spark reads it through `resource`'s catalog,
    under `folder`."""
    spark = resource.spark_session
    for spec in GOLD:
        name = resource.table(*spec.table)
        if spark.catalog.tableExists(name):
            spark.table(name).write.mode("overwrite").parquet(f"{folder}/{spec.asset}")


def export_in_subprocess(env: dict[str, str], folder: Path) -> None:
    """`export` run by a fresh Python process with the code location's settings from `env`."""
    done = subprocess.run(
        [sys.executable, "-c", SPARK_EXPORT, str(folder)],
        env={**os.environ, "AQI_SPARK_MASTER": "local[2]", "AQI_SPARK_UI": "off", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]


def comparable_rows(arrow: pa.Table) -> list[tuple]:
    """The rows, sorted; timestamps as epoch microseconds (Spark's Parquet has no time zone)."""
    columns = []
    for field, column in zip(arrow.schema, arrow.columns, strict=True):
        if pa.types.is_timestamp(field.type):
            column = pc.cast(column, pa.timestamp("us", field.type.tz)).cast(pa.int64())
        columns.append(column)
    rows = pa.table(columns, names=arrow.column_names).to_pylist()
    return sorted((tuple(row.values()) for row in rows), key=repr)


def spark_rows(folder: Path, spec: TableSpec) -> list[tuple]:
    """The rows `export` wrote for `spec`."""
    return comparable_rows(pq.read_table(folder / spec.asset))


def pyiceberg_rows(reader: LakehouseReader, spec: TableSpec) -> list[tuple]:
    """The rows pyiceberg reads through `reader`'s catalog."""
    return comparable_rows(reader.read_arrow(*spec.table))
