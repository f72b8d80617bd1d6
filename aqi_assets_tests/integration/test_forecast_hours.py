"""Today is not history: forecast hours flagged at every layer, facts from past hours, days final."""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import functions as F

from aqi_assets.catalog.registry import (
    BRONZE_RAW,
    FACT_CITY_DAILY,
    FACT_EPISODE,
    FACT_HOURLY,
    SILVER_HOURLY,
)
from aqi_assets_tests.clocked import AFTER_RUN, TODAY, YESTERDAY, clocked, table
from aqi_assets_tests.materialize import materialize_range, materialize_reference

__all__ = ["clocked"]


def build(assets, resources) -> None:
    materialize_reference(assets, resources)
    materialize_range(assets, YESTERDAY, TODAY, resources)


def test_forecast_hours_are_flagged_and_kept_out_of_the_facts(
    clocked, lakehouse_assets, spark
) -> None:
    _, resources = clocked
    build(lakehouse_assets, resources)
    for spec in (BRONZE_RAW, SILVER_HOURLY, FACT_HOURLY):
        flags = {
            (r["ts_utc"].hour, r["is_forecast"])
            for r in table(spark, resources, spec)
            .where(F.to_date("ts_utc") == F.lit(TODAY))
            .collect()
        }
        # 09:00 has happened at 09:30; 10:00 to 23:00 are forecasts of today's partition.
        assert flags == {(h, h >= 10) for h in range(24)}, spec.asset
    runs = {r[0] for r in table(spark, resources, SILVER_HOURLY).select("model_run_at").collect()}
    assert runs == {datetime(2026, 3, 9, 12)}

    daily = {
        (r["location_key"], r["date_utc"]): r
        for r in table(spark, resources, FACT_CITY_DAILY).collect()
    }
    today = daily["hanoi", TODAY]
    assert (today["total_hours"], today["hours_with_pm25"]) == (10, 10)
    assert today["daily_aqi"] is None  # fewer than 18 hours
    assert today["is_final"] is False
    yesterday = daily["hanoi", YESTERDAY]
    assert yesterday["hours_with_pm25"] == 24
    assert yesterday["daily_aqi"] is not None
    assert yesterday["is_final"] is False  # fetched from the 12Z run of that same day

    [episode] = (
        table(spark, resources, FACT_EPISODE)
        .where("location_key = 'spell' AND end_ts >= '2026-03-10'")
        .collect()
    )
    assert episode["end_ts"] == datetime(2026, 3, 10, 9)
    assert episode["is_ongoing"] is True


def test_a_day_becomes_final_with_the_next_days_00z_run(clocked, lakehouse_assets, spark) -> None:
    server, resources = clocked
    build(lakehouse_assets, resources)
    hourly = table(spark, resources, FACT_HOURLY).where("NOT is_forecast")
    before = {(r["location_key"], r["ts_utc"]): r["pm25"] for r in hourly.collect()}
    server.clock.set(AFTER_RUN)
    materialize_range(lakehouse_assets, YESTERDAY, TODAY, resources)
    hourly = table(spark, resources, FACT_HOURLY)
    after = {(r["location_key"], r["ts_utc"]): r["pm25"] for r in hourly.collect()}
    revised = {key[1] for key in before if before[key] != after[key]}
    assert revised
    assert min(revised) > datetime(2026, 3, 9, 12)
    daily = {
        (r["location_key"], r["date_utc"]): r["is_final"]
        for r in table(spark, resources, FACT_CITY_DAILY).collect()
    }
    assert daily["hanoi", YESTERDAY] is True
    assert daily["hanoi", TODAY] is False
    today = table(spark, resources, FACT_CITY_DAILY).where(F.col("date_utc") == F.lit(TODAY))
    assert {r["total_hours"] for r in today.collect()} == {11}
