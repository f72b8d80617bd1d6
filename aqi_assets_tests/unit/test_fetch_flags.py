"""Fetch flags (SPEC §8): an hour later than the fetch instant is a forecast, stamped with the model
run behind the answer, and past hours drop the forecasts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pyspark.sql import functions as F

from aqi_assets.transforms.fetch_flags import forecast_flag, past_hours, with_fetch_flags

DAY = datetime(2024, 3, 10)
FETCHED_AT = datetime(2024, 3, 10, 12, 30, tzinfo=UTC)
MODEL_RUN_AT = datetime(2024, 3, 10, 0, 0, tzinfo=UTC)


def hours(spark, count: int = 24):
    """(location_key, ts_utc) for `count` consecutive hours of DAY in Ha Noi."""
    rows = [("hanoi", DAY + timedelta(hours=h)) for h in range(count)]
    return spark.createDataFrame(rows, "location_key string, ts_utc timestamp")


def test_an_hour_is_a_forecast_only_when_later_than_the_fetch_instant(spark) -> None:
    at = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
    frame = hours(spark).select("ts_utc", forecast_flag(F.col("ts_utc"), at).alias("f"))
    flags = {r["ts_utc"].hour: r["f"] for r in frame.collect()}
    assert [h for h, f in sorted(flags.items()) if f] == list(range(13, 24))
    assert flags[12] is False, "the hour of the fetch instant itself has happened"


def test_with_fetch_flags_marks_hours_after_the_fetch_and_stamps_the_model_run(spark) -> None:
    rows = with_fetch_flags(hours(spark), FETCHED_AT, MODEL_RUN_AT).collect()
    assert len(rows) == 24
    # 12:00 is before 12:30; 13:00 on are forecasts.
    assert [r["ts_utc"].hour for r in rows if r["is_forecast"]] == list(range(13, 24))
    assert {r["model_run_at"] for r in rows} == {datetime(2024, 3, 10, 0, 0)}


def test_with_fetch_flags_leaves_the_model_run_null_when_unknown(spark) -> None:
    frame = with_fetch_flags(hours(spark, 3), FETCHED_AT, None)
    assert dict(frame.dtypes)["model_run_at"] == "timestamp"
    assert {r["model_run_at"] for r in frame.collect()} == {None}


def test_past_hours_keeps_measured_hours_and_drops_forecasts(spark) -> None:
    frame = with_fetch_flags(hours(spark), FETCHED_AT, MODEL_RUN_AT)
    kept = sorted(r["ts_utc"].hour for r in past_hours(frame).collect())
    assert kept == list(range(13))
    assert past_hours(frame).columns == frame.columns


def test_past_hours_of_two_fetches_keep_each_fetchs_own_past(spark) -> None:
    """Hours fetched at different instants (two locations, two runs) are judged by their own."""
    early = with_fetch_flags(hours(spark), FETCHED_AT - timedelta(hours=6), MODEL_RUN_AT)
    late = with_fetch_flags(hours(spark), FETCHED_AT, MODEL_RUN_AT).replace("hanoi", "hcmc")
    kept = past_hours(early.union(late)).groupBy("location_key").count().collect()
    assert {r["location_key"]: r["count"] for r in kept} == {"hanoi": 7, "hcmc": 13}
