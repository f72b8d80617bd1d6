"""fact_city_daily's transform (SPEC §4, §5, §9): a UTC day's PM2.5 / AQI statistics from its past
hours only, the 18-hour rule for `daily_aqi`, hours per category, and when a day is final."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from aqi_assets.transforms.aqi.epa_pm25 import AqiTable, aqi_from_pm25
from aqi_assets.transforms.daily import CATEGORY_COLUMNS, city_daily, day_finality

DAY = datetime(2024, 3, 10)
DAY_KEY = 20240310
RUN = datetime(2024, 3, 10, 0, 0)
SCHEMA = (
    "location_key string, ts_utc timestamp, date_key int, pm25 double, aqi int, "
    "is_forecast boolean, model_run_at timestamp"
)


def hour(location: str, ts: datetime, pm25: float | None, forecast: bool = False, run=RUN):
    """One hourly fact row as fact_hourly / silver carry it, AQI from the pure reference."""
    key = ts.year * 10000 + ts.month * 100 + ts.day
    return (location, ts, key, pm25, aqi_from_pm25(pm25), forecast, run)


def day_of(location: str, values: list[float | None], start: datetime = DAY, **kwargs) -> list:
    return [hour(location, start + timedelta(hours=h), v, **kwargs) for h, v in enumerate(values)]


NEXT_DAY = DAY + timedelta(days=1)


def scenario_rows() -> list[tuple]:
    """Hours of every scenario below, one location each (hanoi and danang share a case)."""
    past = [8.0, 10.0, 12.0] * 6 + [20.0, 30.0]  # 20 measured hours
    forecast = [300.0, 310.0, 320.0, 330.0]  # the rest of the day, forecast when fetched
    categories = [5.0] * 6 + [20.0] * 5 + [40.0] * 4 + [100.0] * 3 + [200.0] * 2 + [400.0]
    return [
        *day_of("past_only", past),
        *[
            hour("past_only", DAY + timedelta(hours=20 + i), v, forecast=True)
            for i, v in enumerate(forecast)
        ],
        *day_of("complete", [10.0] * 18 + [None] * 6),
        *day_of("short", [10.0] * 17 + [None] * 7),
        *day_of("categories", [*categories, None, None, None]),
        *day_of("hanoi", [10.0] * 24),
        *day_of("hanoi", [50.0] * 24, start=NEXT_DAY),
        *day_of("danang", [20.0] * 24),
        *day_of("rounding", [10.0, 10.0, 10.1]),
        # Finality: a run started at the day's end makes it final; one older hour, or one of an
        # unknown run, leaves it open.
        *day_of("final", [10.0] * 24, run=NEXT_DAY),
        *day_of("older_hour", [10.0] * 23, run=NEXT_DAY),
        hour("older_hour", DAY + timedelta(hours=23), 10.0, run=RUN),
        *day_of("unknown_run", [10.0] * 23, run=NEXT_DAY),
        hour("unknown_run", DAY + timedelta(hours=23), 10.0, run=None),
    ]


@pytest.fixture(scope="module")
def rows(spark) -> list[dict]:
    """city_daily over every scenario with day_finality (one Spark job)."""
    frame = spark.createDataFrame(scenario_rows(), SCHEMA)
    result = city_daily(frame, AqiTable.EPA_2024, day_finality(frame))
    return [r.asDict() for r in result.collect()]


@pytest.fixture(scope="module")
def found(rows) -> dict[tuple[str, int], dict]:
    return {(r["location_key"], r["date_key"]): r for r in rows}


def test_a_days_statistics_come_from_its_past_hours_only(found) -> None:
    past = [8.0, 10.0, 12.0] * 6 + [20.0, 30.0]
    row = found[("past_only", DAY_KEY)]
    assert row["date_utc"] == date(2024, 3, 10)
    assert row["total_hours"] == 20
    assert row["hours_with_pm25"] == 20
    assert row["max_pm25"] == 30.0
    assert row["min_pm25"] == 8.0
    mean = round(sum(past) / len(past), 3)
    assert row["avg_pm25"] == mean
    assert row["daily_aqi"] == aqi_from_pm25(mean), "the AQI of the 24-hour mean, not of the max"
    assert row["max_aqi"] == aqi_from_pm25(30.0)
    assert row["hours_hazardous"] == 0, "forecast hours count in no category"


def test_daily_aqi_needs_eighteen_hours_with_pm25(found) -> None:
    complete, short = found[("complete", DAY_KEY)], found[("short", DAY_KEY)]
    assert complete["daily_aqi"] == aqi_from_pm25(10.0)
    assert (complete["hours_with_pm25"], complete["total_hours"]) == (18, 24)
    assert short["daily_aqi"] is None
    assert (short["hours_with_pm25"], short["total_hours"]) == (17, 24)
    assert short["avg_pm25"] == 10.0, "the other measures stay"


def test_hours_per_category_and_null_aqi_hours(found) -> None:
    # EPA 2024: Good <= 9.0, Moderate <= 35.4, USG <= 55.4, Unhealthy <= 125.4,
    # Very Unhealthy <= 225.4, Hazardous above.
    row = found[("categories", DAY_KEY)]
    assert [row[c] for c in CATEGORY_COLUMNS] == [6, 5, 4, 3, 2, 1]
    assert row["total_hours"] == 24, "an hour without PM2.5 still counts in total_hours"
    assert row["hours_with_pm25"] == 21
    assert row["max_aqi"] == 500


def test_one_row_per_location_and_utc_day(rows, found) -> None:
    assert len(rows) == len(found)
    assert {k for k in found if k[0] in ("hanoi", "danang")} == {
        ("hanoi", 20240310),
        ("hanoi", 20240311),
        ("danang", 20240310),
    }
    assert found[("hanoi", 20240311)]["date_utc"] == date(2024, 3, 11)
    assert found[("hanoi", 20240311)]["avg_pm25"] == 50.0
    assert found[("hanoi", 20240310)]["avg_pm25"] == 10.0
    assert found[("danang", 20240310)]["avg_pm25"] == 20.0


def test_averages_are_rounded_to_three_decimals(found) -> None:
    assert found[("rounding", DAY_KEY)]["avg_pm25"] == 10.033


def test_a_day_is_final_once_every_hour_comes_from_a_run_started_after_its_end(found) -> None:
    finality = {k[0]: row["is_final"] for k, row in found.items()}
    assert finality["final"] is True
    assert finality["older_hour"] is False
    assert finality["unknown_run"] is False
    assert finality["complete"] is False, "the run of the day's own start is not after its end"


def test_without_finality_no_day_is_final(spark) -> None:
    frame = spark.createDataFrame(day_of("hanoi", [10.0] * 24, run=DAY + timedelta(days=2)), SCHEMA)
    [row] = city_daily(frame, AqiTable.EPA_2024).collect()
    assert row["is_final"] is False
    assert row["total_hours"] == 24


# 24 hours whose exact mean, 35.4375, sits on a rounding boundary; added in this order as doubles
# they sum to 850.4999999999999, so a mean of doubles would round down to 35.437.
BOUNDARY_DAY = [
    37.5, 45.8, 44.0, 43.9, 44.5, 27.7, 45.3, 40.2, 22.5, 20.5, 20.4, 42.7,
    27.5, 23.3, 38.7, 30.3, 22.1, 24.8, 35.8, 25.0, 28.2, 41.3, 33.6, 84.9,
]  # fmt: skip


def test_a_mean_on_a_rounding_boundary_rounds_half_up_in_any_summing_order(spark) -> None:
    hours = day_of("danang", BOUNDARY_DAY, run=NEXT_DAY)
    means = set()
    for ordered in (hours, hours[::-1]):
        frame = spark.createDataFrame(ordered, SCHEMA).coalesce(1)
        (row,) = city_daily(frame, AqiTable.EPA_2024).collect()
        means.add(row["avg_pm25"])
    assert means == {35.438}
