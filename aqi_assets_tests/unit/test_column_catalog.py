"""Every column of every table has a description, and the catalogue lists exactly the columns
the assets write (where their writers name them without Spark; the whole-graph integration
test compares the rest with the tables built)."""

from __future__ import annotations

from pyspark.sql.types import StringType, StructField, StructType

from aqi_assets.catalog.columns import TABLE_COLUMNS, column_descriptions
from aqi_assets.catalog.registry import (
    BRONZE_RAW,
    FACT_AQI_FORECAST,
    FACT_HOURLY,
    FACT_POLLUTANT_HOURLY,
    SILVER_HOURLY,
    SILVER_REJECTS,
    TABLES,
)
from aqi_assets.gold.hourly_facts import FACT_HOURLY_COLUMNS, POLLUTANT_FACT_COLUMNS
from aqi_assets.quality.metadata import column_schema
from aqi_assets.transforms.aqi.nowcast import RAW_COLUMNS
from aqi_assets.transforms.bronze_rows import BRONZE_SCHEMA
from aqi_assets.transforms.forecast_rows import FORECAST_COLUMNS
from aqi_assets.transforms.silver_rows import SILVER_COLUMNS

# Added after the writers' column lists: the fetch flags (bronze), the reason (rejects).
FETCH_FLAGS = ("is_forecast", "model_run_at")


def test_every_column_of_every_table_is_described() -> None:
    assert {t.asset for t in TABLES} == set(TABLE_COLUMNS)
    undescribed = [
        (table, column)
        for table, columns in TABLE_COLUMNS.items()
        for column, text in columns.items()
        if not text.strip()
    ]
    assert undescribed == []
    assert all(len(columns) >= 4 for columns in TABLE_COLUMNS.values())


def test_the_catalogue_lists_the_columns_the_writers_name() -> None:
    def listed(table) -> list[str]:
        return list(column_descriptions(table))

    bronze = [*BRONZE_SCHEMA.names, *FETCH_FLAGS]
    assert listed(BRONZE_RAW) == bronze
    assert listed(SILVER_REJECTS) == [*bronze, "reason", "rejected_at"]
    assert listed(SILVER_HOURLY)[: len(SILVER_COLUMNS)] == list(SILVER_COLUMNS)
    assert set(RAW_COLUMNS) <= set(listed(SILVER_HOURLY))
    assert listed(FACT_HOURLY) == [*FACT_HOURLY_COLUMNS, "is_forecast"]
    assert listed(FACT_POLLUTANT_HOURLY) == list(POLLUTANT_FACT_COLUMNS)
    assert listed(FACT_AQI_FORECAST) == list(FORECAST_COLUMNS)


def test_the_column_schema_carries_the_descriptions() -> None:
    schema = StructType([StructField(c, StringType()) for c in column_descriptions(FACT_HOURLY)])
    columns = column_schema(schema, column_descriptions(FACT_HOURLY)).columns
    assert [c.name for c in columns] == list(TABLE_COLUMNS[FACT_HOURLY.asset])
    assert all(c.description for c in columns)
