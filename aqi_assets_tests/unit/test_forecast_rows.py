"""fact_aqi_forecast's transform (SPEC §8): only hours after the fetch instant with a valid PM2.5,
their local day, AQI and category, and the per-city outlook of the highest AQI per coming day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pyspark.sql import functions as F

from aqi_assets.transforms.aqi.epa_pm25 import AqiTable, aqi_from_pm25
from aqi_assets.transforms.fetch_flags import with_fetch_flags
from aqi_assets.transforms.forecast_rows import (
    FORECAST_COLUMNS,
    daily_peaks,
    forecast_rows,
    outlook_markdown,
    zones_frame,
)

FETCHED_AT = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
MODEL_RUN_AT = datetime(2024, 3, 10, 0, 0, tzinfo=UTC)


def answer(spark, values: dict[str, list[float | None]], start=datetime(2024, 3, 10, 10)):
    """Bronze rows (location_key, ts_utc, pm2_5) from `start`, flagged as fetched at FETCHED_AT."""
    rows = [
        (key, start + timedelta(hours=h), value)
        for key, series in values.items()
        for h, value in enumerate(series)
    ]
    frame = spark.createDataFrame(rows, "location_key string, ts_utc timestamp, pm2_5 double")
    flagged = with_fetch_flags(frame, FETCHED_AT, MODEL_RUN_AT)
    return flagged.withColumn("fetched_at", F.lit(FETCHED_AT).cast("timestamp"))


# location -> PM2.5 from 10:00 UTC on 10 March; fetched at 12:00, so 13:00 on are forecasts.
ANSWERS: dict[str, list[float | None]] = {
    "hanoi": [10.0, 11.0, 12.0, 13.0, 14.0, 15.0],
    "horizon": [1.0, 1.0, 1.0, None, float("nan"), -1.0, 1500.1, 1500.0, 9.0],
    "hcmc": [0.0, 0.0, 0.0, 5.0, 20.0, 40.0, 100.0, 200.0, 300.0, 400.0],
    # 13:00-16:00 UTC are 20:00-23:00 on the 10th in Viet Nam, 17:00 on the 11th.
    "danang": [0.0, 0.0, 0.0, 10.0, 30.0, 20.0, 10.0, 60.0, 5.0],
    "atlantis": [5.0] * 8,  # no time zone
}
ZONES = {key: "Asia/Ho_Chi_Minh" for key in ("hanoi", "horizon", "hcmc", "danang")}


@pytest.fixture(scope="module")
def forecast(spark):
    """forecast_rows of every answer above (cached: read by two tests)."""
    frame = forecast_rows(answer(spark, ANSWERS), zones_frame(spark, ZONES), AqiTable.EPA_2024)
    yield frame.cache()
    frame.unpersist()


@pytest.fixture(scope="module")
def found(forecast) -> dict[str, list[dict]]:
    """The forecast rows of each location, in time order."""
    by_key: dict[str, list[dict]] = {}
    for r in forecast.orderBy("location_key", "ts_utc").collect():
        by_key.setdefault(r["location_key"], []).append(r.asDict())
    return by_key


def test_rows_have_the_tables_columns(forecast) -> None:
    assert tuple(forecast.columns) == FORECAST_COLUMNS


def test_only_hours_after_the_fetch_instant_become_forecast_rows(found) -> None:
    rows = found["hanoi"]
    assert [r["ts_utc"].hour for r in rows] == [13, 14, 15]
    assert [r["pm25"] for r in rows] == [13.0, 14.0, 15.0]
    assert {r["model_run_at"] for r in rows} == {datetime(2024, 3, 10, 0, 0)}
    assert {r["fetched_at"] for r in rows} == {datetime(2024, 3, 10, 12, 0)}


def test_hours_past_the_horizon_and_impossible_values_are_left_out(found) -> None:
    # 13:00 null (past the horizon), NaN, negative, above 1500: out; 1500 itself is possible.
    assert [(r["ts_utc"].hour, r["pm25"]) for r in found["horizon"]] == [(17, 1500.0), (18, 9.0)]


def test_aqi_and_category_follow_the_epa_table(found) -> None:
    rows = found["hcmc"]
    assert [r["aqi"] for r in rows] == [
        aqi_from_pm25(v) for v in (5.0, 20.0, 40.0, 100.0, 200.0, 300.0, 400.0)
    ]
    assert [r["aqi_category"] for r in rows] == [
        "Good",
        "Moderate",
        "Unhealthy for Sensitive Groups",
        "Unhealthy",
        "Very Unhealthy",
        "Hazardous",
        "Hazardous",
    ]


def test_date_local_is_the_hours_day_in_its_zone_and_utc_without_one(found) -> None:
    local = {r["ts_utc"].hour: r["date_local"] for r in found["danang"]}
    assert local[16] == date(2024, 3, 10)
    assert local[17] == date(2024, 3, 11)
    assert {r["date_local"] for r in found["atlantis"]} == {date(2024, 3, 10)}, "the UTC day"


def test_daily_peaks_give_each_citys_highest_aqi_per_local_day(forecast) -> None:
    peaks = [p for p in daily_peaks(forecast) if p[0] in ("danang", "hcmc")]
    assert peaks == [
        ("danang", "2024-03-10", aqi_from_pm25(30.0)),
        ("danang", "2024-03-11", aqi_from_pm25(60.0)),
        ("hcmc", "2024-03-10", aqi_from_pm25(100.0)),
        ("hcmc", "2024-03-11", 500),
    ]


def test_outlook_is_a_table_of_cities_by_name_and_days() -> None:
    peaks = [("hcmc", "2024-03-11", 60), ("hanoi", "2024-03-11", 160), ("hanoi", "2024-03-12", 90)]
    table = outlook_markdown(peaks, {"hanoi": "Ha Noi", "hcmc": "Ho Chi Minh"})
    assert table.splitlines() == [
        "| city | 2024-03-11 | 2024-03-12 |",
        "|---|---|---|",
        "| Ha Noi | 160 | 90 |",
        "| Ho Chi Minh | 60 |  |",
    ]


def test_zones_frame_has_one_row_per_location(spark) -> None:
    frame = zones_frame(spark, {"hcmc": "Asia/Ho_Chi_Minh", "nyc": "America/New_York"})
    assert [tuple(r) for r in frame.collect()] == [
        ("hcmc", "Asia/Ho_Chi_Minh"),
        ("nyc", "America/New_York"),
    ]
