"""The whole graph on the local Open-Meteo server: counts, idempotency, late data, checks."""

from __future__ import annotations

from datetime import date

import pytest
from pyspark.sql import functions as F

from aqi_assets.catalog.columns import column_descriptions
from aqi_assets.catalog.registry import (
    DIM_DATE,
    DIM_LOCATION,
    DIM_POLLUTANT,
    DIM_TIME,
    FACT_CITY_DAILY,
    FACT_EPISODE,
    FACT_HOURLY,
    SILVER_HOURLY,
    SILVER_REJECTS,
    TABLES,
)
from aqi_assets_tests.materialize import land_late_reading, materialize_range, materialize_reference

GOLD = [FACT_HOURLY.iceberg_name, FACT_CITY_DAILY.asset, FACT_EPISODE.asset, DIM_DATE.asset]
FIRST, LAST = date(2024, 1, 1), date(2024, 1, 3)


def snapshot_rows(spark, catalog: str, namespace: str, table: str) -> list[tuple]:
    """Every row of a table, sorted, as plain tuples (ingest bookkeeping columns dropped)."""
    df = spark.table(f"{catalog}.{namespace}.{table}")
    df = df.drop(*[c for c in ("ingested_at", "batch_id", "rejected_at") if c in df.columns])
    return sorted(tuple(r) for r in df.collect())


@pytest.fixture
def built(lakehouse_assets, pipeline_resources):
    """The reference dims plus the whole time-partitioned graph for 2024-01-01..03."""
    materialize_reference(lakehouse_assets, pipeline_resources)
    result = materialize_range(lakehouse_assets, FIRST, LAST, pipeline_resources)
    return result


def test_whole_graph_for_three_days(built, pipeline_resources) -> None:
    reader = pipeline_resources["lakehouse"]
    assert built.success
    assert reader.row_count(*SILVER_HOURLY.table) == 216
    assert reader.row_count(*FACT_HOURLY.table) == 216
    assert reader.row_count(*FACT_CITY_DAILY.table) == 9
    assert reader.row_count(*DIM_DATE.table) == 3
    assert reader.row_count(*DIM_LOCATION.table) == 3
    assert reader.row_count(*DIM_TIME.table) == 24
    assert reader.row_count(*DIM_POLLUTANT.table) == 10
    silver = built.asset_materializations_for_node("silver")
    metadata = {m.asset_key.to_user_string(): m.metadata for m in silver}
    hourly = metadata[SILVER_HOURLY.asset]
    assert (
        hourly["rows_in"].value
        == hourly["rows_written"].value + hourly["rows_rejected"].value
        == 216
    )
    # Clean data: every check of silver_hourly passed, so its quality score is whole.
    assert hourly["quality_score"].value == 100.0
    evaluations = built.get_asset_check_evaluations()
    assert evaluations, "checks ran with the materializations"
    blocking_failed = [e.check_name for e in evaluations if not e.passed and e.blocking]
    assert blocking_failed == []
    # The column catalogue describes exactly the columns each built table has.
    spark = pipeline_resources["spark"]
    built_tables = [
        t for t in TABLES if spark.spark_session.catalog.tableExists(spark.table(*t.table))
    ]
    assert len(built_tables) == len(TABLES) - 1, "all but the forecast"
    for table in built_tables:
        columns = spark.spark_session.table(spark.table(*table.table)).columns
        assert columns == list(column_descriptions(table)), table.asset


def test_materializing_twice_gives_identical_tables(
    built, lakehouse_assets, pipeline_resources, spark
) -> None:
    catalog = pipeline_resources["spark"].catalog_name
    before = {t: snapshot_rows(spark, catalog, "gold", t) for t in GOLD}
    before[SILVER_HOURLY.asset] = snapshot_rows(spark, catalog, *SILVER_HOURLY.table)
    materialize_range(lakehouse_assets, FIRST, LAST, pipeline_resources)
    after = {t: snapshot_rows(spark, catalog, "gold", t) for t in GOLD}
    after[SILVER_HOURLY.asset] = snapshot_rows(spark, catalog, *SILVER_HOURLY.table)
    assert after == before


def test_late_data_replaces_the_hour_once_downstream(
    built, lakehouse_assets, pipeline_resources, spark
) -> None:
    spark_resource = pipeline_resources["spark"]
    land_late_reading(spark_resource, "hanoi", "2024-01-02T05:00", 300.0)
    materialize_range(
        lakehouse_assets,
        date(2024, 1, 2),
        date(2024, 1, 2),
        pipeline_resources,
        [
            SILVER_HOURLY.asset,
            SILVER_REJECTS.asset,
            FACT_HOURLY.asset,
            FACT_CITY_DAILY.asset,
            FACT_EPISODE.asset,
            DIM_DATE.asset,
        ],
    )
    hour = (F.col("location_key") == "hanoi") & (
        F.col("ts_utc") == F.lit("2024-01-02 05:00:00").cast("timestamp")
    )
    fact_hourly = spark.table(spark_resource.table(*FACT_HOURLY.table))
    rows = fact_hourly.where(hour).collect()
    assert [(r["pm25"], r["aqi"]) for r in rows] == [(300.0, 449)]
    assert spark.table(spark_resource.table(*SILVER_HOURLY.table)).where(hour).count() == 1
    daily = spark.table(spark_resource.table(*FACT_CITY_DAILY.table)).where(
        "location_key = 'hanoi' AND date_key = 20240102"
    )
    [day] = daily.collect()
    assert day["max_pm25"] == 300.0
    assert day["total_hours"] == 24
    assert fact_hourly.count() == 216
