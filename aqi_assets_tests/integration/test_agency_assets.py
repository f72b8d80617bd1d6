"""NowCast, every pollutant's indices and local days in the lakehouse: a range run equals the
same days inside a longer run, a late hour reaches the local day it belongs to, the
Open-Meteo cross-check reports its agreement."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from pyspark.sql import functions as F

from aqi_assets.catalog.registry import (
    DIM_DATE,
    FACT_CITY_DAILY_LOCAL,
    FACT_HOURLY,
    FACT_POLLUTANT_HOURLY,
    SILVER_HOURLY,
    SILVER_REJECTS,
    Check,
)
from aqi_assets.gold.hourly_facts import silver_hours
from aqi_assets.silver.silver_hourly import previous_hours
from aqi_assets.transforms.aqi.nowcast import RAW_COLUMNS
from aqi_assets_tests.materialize import land_late_reading, materialize_range, materialize_reference

FIRST, LAST = date(2024, 1, 1), date(2024, 1, 4)
AGENCY_TABLES = {
    SILVER_HOURLY: [
        "location_key",
        "ts_utc",
        "nowcast_pm25",
        "nowcast_aqi",
        "nowcast_pm10",
        "nowcast_pm10_aqi",
        "us_aqi_pm2_5_recomputed",
    ],
    FACT_HOURLY: [
        "location_key",
        "ts_utc",
        "nowcast_pm25",
        "nowcast_aqi",
        "aqi_overall",
        "dominant_pollutant",
        "vn_aqi",
        "vn_dominant_pollutant",
    ],
    FACT_POLLUTANT_HOURLY: None,
    FACT_CITY_DAILY_LOCAL: None,
}
DAY_ASSETS = [
    SILVER_HOURLY.asset,
    SILVER_REJECTS.asset,
    DIM_DATE.asset,
    FACT_HOURLY.asset,
    FACT_POLLUTANT_HOURLY.asset,
    FACT_CITY_DAILY_LOCAL.asset,
]


def rows(spark, catalog: str, spec, since: date) -> list[tuple]:
    df = spark.table(f"{catalog}.{spec.table}")
    column = F.col(spec.window_column)
    df = df.where(column >= F.lit(since).cast(df.schema[spec.window_column].dataType))
    columns = AGENCY_TABLES[spec] or [c for c in df.columns if c not in ("model_run_at",)]
    return sorted(tuple(r) for r in df.select(*columns).collect())


def test_range_runs_equal_the_longer_run(lakehouse_assets, pipeline_resources, spark) -> None:
    materialize_reference(lakehouse_assets, pipeline_resources)
    result = materialize_range(lakehouse_assets, FIRST, LAST, pipeline_resources)
    catalog = pipeline_resources["spark"].catalog_name
    since = date(2024, 1, 3)
    longer = {spec.asset: rows(spark, catalog, spec, since) for spec in AGENCY_TABLES}
    # Every hour has NowCast, overall and VN indices; a local day of Viet Nam is 24 hours.
    fact = spark.table(f"{catalog}.{FACT_HOURLY.table}").where(F.col("ts_utc") >= "2024-01-02")
    assert fact.where("nowcast_aqi IS NULL OR aqi_overall IS NULL OR vn_aqi IS NULL").count() == 0
    local = spark.table(f"{catalog}.{FACT_CITY_DAILY_LOCAL.table}")
    assert (
        local.where("date_local = DATE'2024-01-02'")
        .select("total_hours")
        .distinct()
        .collect()[0][0]
        == 24
    )
    pollutants = spark.table(f"{catalog}.{FACT_POLLUTANT_HOURLY.table}")
    assert pollutants.count() == 6 * spark.table(f"{catalog}.{FACT_HOURLY.table}").count()
    # One step writes both: the hour's overall index is the largest of its pollutant rows.
    largest = pollutants.groupBy("location_key", "ts_utc").agg(
        F.max("epa_sub_index").alias("largest"), F.max("vn_sub_index").alias("largest_vn")
    )
    both = fact.join(largest, ["location_key", "ts_utc"])
    assert both.count() == fact.count()
    assert both.where("aqi_overall != largest OR vn_aqi != largest_vn").count() == 0
    # The local server computes us_aqi_pm2_5 Open-Meteo's way: the cross-check agrees.
    agreement = [
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == Check.OPEN_METEO_AGREEMENT
    ]
    assert agreement
    assert all(e.passed for e in agreement)
    assert agreement[0].metadata["agreement_share"].value >= 0.95

    # Each day again on its own: its first hours read the hours before it.
    for day in (date(2024, 1, 3), date(2024, 1, 4)):
        materialize_range(lakehouse_assets, day, day, pipeline_resources, DAY_ASSETS)
    alone = {spec.asset: rows(spark, catalog, spec, since) for spec in AGENCY_TABLES}
    assert alone == longer


def test_silver_lookback_is_held_by_the_plan(lakehouse_assets, pipeline_resources, spark) -> None:
    """Silver's look-back rows do not read silver_hourly: a frame reading the table it replaces
    would be dropped from Spark's cache by the commit, and every check after it recomputed."""
    materialize_reference(lakehouse_assets, pipeline_resources)
    materialize_range(lakehouse_assets, FIRST, FIRST, pipeline_resources)
    resource = pipeline_resources["spark"]
    stored = spark.table(f"{resource.catalog_name}.{SILVER_HOURLY.table}")
    start = datetime(2024, 1, 2, tzinfo=UTC)
    lookback = previous_hours(resource, stored, start - timedelta(hours=24), start)
    assert (
        lookback.count()
        == stored.count()
        == 24 * len(stored.select("location_key").distinct().collect())
    )
    assert lookback.inputFiles() == []


def test_hourly_facts_read_the_nowcast_silver_stored(
    lakehouse_assets, pipeline_resources, spark
) -> None:
    """The hourly facts take the untruncated NowCast silver stored, without computing it again."""
    materialize_reference(lakehouse_assets, pipeline_resources)
    materialize_range(lakehouse_assets, FIRST, FIRST, pipeline_resources)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    hours = silver_hours(pipeline_resources["spark"], start, start + timedelta(days=1))
    assert set(RAW_COLUMNS) <= set(hours.columns)
    assert not hours.where(F.col(RAW_COLUMNS[0]).isNotNull()).isEmpty()


def test_local_day_spanning_two_utc_partitions(lakehouse_assets, pipeline_resources, spark) -> None:
    """Local 2024-01-02 (UTC+7) is UTC 01-01 17:00 to 01-02 17:00; a late hour at 01-02 05:00 UTC
    lands in the second UTC partition and reaches that local day, not the next one."""
    materialize_reference(lakehouse_assets, pipeline_resources)
    materialize_range(lakehouse_assets, date(2024, 1, 1), date(2024, 1, 3), pipeline_resources)
    catalog = pipeline_resources["spark"].catalog_name
    local = f"{catalog}.{FACT_CITY_DAILY_LOCAL.table}"
    before = {
        r["date_local"]: r for r in spark.table(local).where("location_key = 'hanoi'").collect()
    }
    land_late_reading(pipeline_resources["spark"], "hanoi", "2024-01-02T05:00", 300.0)
    materialize_range(
        lakehouse_assets,
        date(2024, 1, 2),
        date(2024, 1, 2),
        pipeline_resources,
        [SILVER_HOURLY.asset, SILVER_REJECTS.asset, FACT_CITY_DAILY_LOCAL.asset],
    )
    after = {
        r["date_local"]: r for r in spark.table(local).where("location_key = 'hanoi'").collect()
    }
    day, next_day = date(2024, 1, 2), date(2024, 1, 3)
    assert after[day]["max_pm25"] == 300.0
    assert after[day]["total_hours"] == 24
    assert after[day]["who_pm25_exceeded"] is True
    assert after[day]["vn_aqi_daily"] >= before[day]["vn_aqi_daily"]
    assert after[next_day] == before[next_day]
    assert spark.table(local).where(f"date_local = DATE'{day}'").count() == 3
