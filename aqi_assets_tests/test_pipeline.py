"""The whole graph on the local Open-Meteo server: counts, idempotency, late data, checks."""

from __future__ import annotations

from datetime import date

import pytest
from pyspark.sql import functions as F

from aqi_assets_tests.materialize import materialize_range, materialize_reference

GOLD = ["fact_air_quality_hourly", "fact_city_daily", "fact_episode", "dim_date"]
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
    assert reader.row_count("silver", "silver_hourly") == 216
    assert reader.row_count("gold", "fact_air_quality_hourly") == 216
    assert reader.row_count("gold", "fact_city_daily") == 9
    assert reader.row_count("gold", "dim_date") == 3
    assert reader.row_count("gold", "dim_location") == 3
    assert reader.row_count("gold", "dim_time") == 24
    assert reader.row_count("gold", "dim_pollutant") == 10
    silver = built.asset_materializations_for_node("silver")
    metadata = {m.asset_key.to_user_string(): m.metadata for m in silver}
    hourly = metadata["silver_hourly"]
    assert (
        hourly["rows_in"].value
        == hourly["rows_silver"].value + hourly["rows_rejected"].value
        == 216
    )
    assert 0 <= hourly["quality_score"].value <= 100
    evaluations = built.get_asset_check_evaluations()
    assert evaluations, "checks ran with the materializations"
    blocking_failed = [e.check_name for e in evaluations if not e.passed and e.blocking]
    assert blocking_failed == []


def test_materializing_twice_gives_identical_tables(
    built, lakehouse_assets, pipeline_resources, spark
) -> None:
    catalog = pipeline_resources["spark"].catalog_name
    before = {t: snapshot_rows(spark, catalog, "gold", t) for t in GOLD}
    before["silver_hourly"] = snapshot_rows(spark, catalog, "silver", "silver_hourly")
    materialize_range(lakehouse_assets, FIRST, LAST, pipeline_resources)
    after = {t: snapshot_rows(spark, catalog, "gold", t) for t in GOLD}
    after["silver_hourly"] = snapshot_rows(spark, catalog, "silver", "silver_hourly")
    assert after == before


def test_late_data_replaces_the_hour_once_downstream(
    built, lakehouse_assets, pipeline_resources, spark
) -> None:
    catalog = pipeline_resources["spark"].catalog_name
    bronze = f"{catalog}.bronze.bronze_raw"
    spark.sql(
        f"UPDATE {bronze} SET pm2_5 = 300.0, ingested_at = current_timestamp() "
        "WHERE location_key = 'hanoi' AND time = '2024-01-02T05:00'"
    )
    materialize_range(
        lakehouse_assets,
        date(2024, 1, 2),
        date(2024, 1, 2),
        pipeline_resources,
        [
            "silver_hourly",
            "silver_rejects",
            "fact_hourly",
            "fact_city_daily",
            "fact_episode",
            "dim_date",
        ],
    )
    hour = (F.col("location_key") == "hanoi") & (
        F.col("ts_utc") == F.lit("2024-01-02 05:00:00").cast("timestamp")
    )
    rows = spark.table(f"{catalog}.gold.fact_air_quality_hourly").where(hour).collect()
    assert [(r["pm25"], r["aqi"]) for r in rows] == [(300.0, 449)]
    assert spark.table(f"{catalog}.silver.silver_hourly").where(hour).count() == 1
    daily = spark.table(f"{catalog}.gold.fact_city_daily").where(
        "location_key = 'hanoi' AND date_key = 20240102"
    )
    [day] = daily.collect()
    assert day["max_pm25"] == 300.0
    assert day["total_hours"] == 24
    assert spark.table(f"{catalog}.gold.fact_air_quality_hourly").count() == 216
