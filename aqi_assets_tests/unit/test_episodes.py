"""Episodes (SPEC §6): thresholds, gaps, midnight, multi-day, ongoing, and the rewrite window."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from aqi_assets.transforms.episodes import (
    EPISODE_BOUNDS_SCHEMA,
    affected_start_dates,
    detect_episodes,
    plan_rewrite,
)

T0 = datetime(2024, 1, 1, 0, 0)


def hourly(
    spark, runs: dict[str, list[int | None]], start: datetime = T0, skip: set[int] = frozenset()
):
    """Rows (location_key, ts_utc, aqi) from consecutive hourly AQI values; `skip` drops hour indexes."""
    rows = [
        (location, start + timedelta(hours=i), aqi)
        for location, values in runs.items()
        for i, aqi in enumerate(values)
        if i not in skip
    ]
    return spark.createDataFrame(rows, "location_key string, ts_utc timestamp, aqi int")


def episodes(spark, runs, **kwargs):
    frame = hourly(spark, runs, **{k: v for k, v in kwargs.items() if k in ("start", "skip")})
    return [
        r.asDict()
        for r in detect_episodes(frame, 151, 4).orderBy("location_key", "start_ts").collect()
    ]


def test_exactly_min_hours_is_an_episode_and_one_short_is_not(spark) -> None:
    found = episodes(spark, {"a": [50, 160, 170, 180, 190, 50], "b": [50, 160, 170, 180, 50]})
    assert [(e["location_key"], e["duration_hours"]) for e in found] == [("a", 4)]
    [e] = found
    assert e["start_ts"] == T0 + timedelta(hours=1)
    assert e["end_ts"] == T0 + timedelta(hours=4)
    assert e["max_aqi"] == 190
    assert e["avg_aqi"] == 175.0
    assert e["severity_level"] == "Unhealthy"
    assert e["aqi_threshold"] == 151
    assert e["is_ongoing"] is False


def test_a_missing_hour_splits_a_run(spark) -> None:
    values = [160] * 10
    found = episodes(spark, {"a": [*values, 50]}, skip={3})
    assert [(e["start_ts"].hour, e["duration_hours"]) for e in found] == [(4, 6)]


def test_a_null_aqi_breaks_a_run(spark) -> None:
    found = episodes(spark, {"a": [160, 160, 160, None, 160, 160, 160, 160, 50]})
    assert [(e["start_ts"].hour, e["duration_hours"]) for e in found] == [(4, 4)]


def test_crossing_midnight_belongs_to_the_start_day(spark) -> None:
    found = episodes(spark, {"a": [50] * 22 + [210] * 6 + [50]})
    [e] = found
    assert e["start_date"] == date(2024, 1, 1)
    assert e["end_ts"] == datetime(2024, 1, 2, 3, 0)
    assert e["duration_hours"] == 6
    assert e["severity_level"] == "Very Unhealthy"


def test_three_day_episode_comes_out_whole(spark) -> None:
    [e] = episodes(spark, {"a": [40] + [155] * 72 + [40]})
    assert e["duration_hours"] == 72
    assert (e["start_date"], e["end_ts"]) == (date(2024, 1, 1), datetime(2024, 1, 4, 0, 0))


def test_ongoing_episode_grows_and_keeps_its_id(spark) -> None:
    [first] = episodes(spark, {"a": [40] * 20 + [170] * 4})
    assert first["is_ongoing"] is True
    [grown] = episodes(spark, {"a": [40] * 20 + [170] * 10})
    assert grown["is_ongoing"] is True
    assert grown["episode_id"] == first["episode_id"]
    assert grown["duration_hours"] == 10
    [ended] = episodes(spark, {"a": [40] * 20 + [170] * 10 + [40]})
    assert ended["is_ongoing"] is False
    assert ended["episode_id"] == first["episode_id"]


def test_ids_are_deterministic_and_distinct(spark) -> None:
    runs = {"a": [160] * 5 + [0] + [160] * 5, "b": [160] * 5}
    once, again = episodes(spark, runs), episodes(spark, runs)
    assert [e["episode_id"] for e in once] == [e["episode_id"] for e in again]
    assert len({e["episode_id"] for e in once}) == 3


def test_affected_start_dates_include_adjacent_old_episodes(spark) -> None:
    window_start, window_end = datetime(2024, 1, 3), datetime(2024, 1, 4)
    columns = "start_date date, start_ts timestamp, end_ts timestamp"
    old = spark.createDataFrame(
        [
            (date(2024, 1, 1), datetime(2024, 1, 1, 5), datetime(2024, 1, 1, 9)),  # far away
            (
                date(2024, 1, 2),
                datetime(2024, 1, 2, 20),
                datetime(2024, 1, 2, 23),
            ),  # ends right before
            (
                date(2024, 1, 4),
                datetime(2024, 1, 4, 0),
                datetime(2024, 1, 4, 6),
            ),  # starts at the end
        ],
        columns,
    )
    new = spark.createDataFrame(
        [(date(2024, 1, 3), datetime(2024, 1, 3, 1), datetime(2024, 1, 3, 5))], columns
    )
    got = sorted(
        r["start_date"] for r in affected_start_dates(new, old, window_start, window_end).collect()
    )
    assert got == [date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4)]


def rewrite(spark, runs: dict[str, list[int | None]], window_start: datetime, old=None):
    """plan_rewrite over hourly values from T0, the window being one day; returns (plan, rows)."""
    frame = hourly(spark, runs)
    old = old if old is not None else spark.createDataFrame([], EPISODE_BOUNDS_SCHEMA)
    plan = plan_rewrite(frame, old, window_start, window_start + timedelta(days=1), 151, 4)
    rows = [r.asDict() for r in plan.to_write.orderBy("start_ts").collect()]
    plan.detected.unpersist()
    return plan, rows


def test_rewrite_reads_a_week_back_not_the_whole_history(spark) -> None:
    # 60 days of clean air, then a 6-hour episode on the last day.
    values = [40] * (24 * 59) + [40] * 10 + [160] * 6 + [40] * 8
    window_start = T0 + timedelta(days=59)
    plan, rows = rewrite(spark, {"a": values}, window_start)
    assert plan.read_since == window_start - timedelta(days=7)
    assert (plan.write_start, plan.write_end) == (date(2024, 2, 29), date(2024, 3, 1))
    assert [(r["start_ts"], r["duration_hours"]) for r in rows] == [
        (window_start + timedelta(hours=10), 6)
    ]


def test_rewrite_widens_until_a_long_episode_comes_out_whole(spark) -> None:
    # 10 clean days, then high AQI for 30 days running into the window (day 40).
    values = [40] * (24 * 10) + [200] * (24 * 30 + 5) + [40] * 19
    window_start = T0 + timedelta(days=40)
    plan, rows = rewrite(spark, {"a": values}, window_start)
    assert plan.read_since <= T0 + timedelta(days=10)
    [episode] = rows
    assert episode["start_ts"] == T0 + timedelta(days=10)
    assert episode["duration_hours"] == 24 * 30 + 5
    assert plan.write_start == date(2024, 1, 11)


def test_rewrite_includes_the_old_episode_the_window_ends(spark) -> None:
    # An old 3-day episode ended the hour before the window; new data extends nothing, yet the
    # old episode's start day is rewritten so an episode split or merged there cannot linger.
    values = [40] * (24 * 20) + [200] * 72 + [40] * 24
    window_start = T0 + timedelta(days=23)
    old = spark.createDataFrame(
        [(date(2024, 1, 21), T0 + timedelta(days=20), window_start - timedelta(hours=1))],
        EPISODE_BOUNDS_SCHEMA,
    )
    plan, rows = rewrite(spark, {"a": values}, window_start, old)
    assert plan.write_start == date(2024, 1, 21)
    assert [(r["start_date"], r["duration_hours"]) for r in rows] == [(date(2024, 1, 21), 72)]
