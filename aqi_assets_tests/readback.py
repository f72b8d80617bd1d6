"""Read tables back without Spark (pyiceberg) in a form tests can compare."""

from __future__ import annotations

from pathlib import Path

from aqi_assets.catalog.registry import TableSpec
from resources.iceberg.lakehouse_reader import LakehouseReader

# What depends on when a run fetched: the model run then served and the fetch instant.
RUN_BOOKKEEPING = ("ingested_at", "batch_id", "rejected_at", "model_run_at", "fetched_at")


def table_rows(warehouse: Path, table: TableSpec) -> list[tuple]:
    """Every row of a table, sorted, without the columns that differ from run to run."""
    arrow = LakehouseReader(warehouse=warehouse.as_uri()).read_arrow(*table.table)
    arrow = arrow.drop_columns([c for c in RUN_BOOKKEEPING if c in arrow.column_names])
    return sorted(tuple(r.values()) for r in arrow.to_pylist())
