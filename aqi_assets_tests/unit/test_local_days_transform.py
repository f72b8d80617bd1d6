"""fact_city_daily_local's transform (SPEC §9): local calendar days in each location's IANA zone
(Asia/Ho_Chi_Minh runs 17:00 UTC to 17:00 UTC, a DST day has 23 hours), past hours only, the
VN_AQI daily index and the WHO 24-hour guideline flags."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from aqi_assets.transforms.aqi.epa_pm25 import AqiTable, aqi_from_pm25
from aqi_assets.transforms.local_days import local_daily, with_local_dates

SCHEMA = (
    "location_key string, ts_utc timestamp, pm25 double, pm10 double, o3 double, no2 double, "
    "so2 double, co double, aqi int, is_forecast boolean"
)
HCM, UTC, NEW_YORK = "Asia/Ho_Chi_Minh", "UTC", "America/New_York"
# Local day 2024-03-10 in Viet Nam (UTC+7): 2024-03-09 17:00 UTC to 2024-03-10 17:00 UTC.
VN_DAY_START = datetime(2024, 3, 9, 17)
MARCH_10, MARCH_11 = date(2024, 3, 10), date(2024, 3, 11)
# One window for every scenario below: the local days 10 and 11 March.
FIRST, STOP = MARCH_10, date(2024, 3, 12)
FETCHED_AT = VN_DAY_START + timedelta(hours=19)  # 12:00 UTC, 19:00 in Viet Nam


def around_vn_day(ts: datetime) -> float:
    """10 µg/m³ during Viet Nam's 10 March, 100 in the hours around it."""
    return 10.0 if VN_DAY_START <= ts < VN_DAY_START + timedelta(days=1) else 100.0


# location -> (zone, first hour UTC, hours, PM2.5 of an hour, PM10, forecast after)
SCENARIOS: dict[str, tuple] = {
    "hanoi": (HCM, datetime(2024, 3, 9), 72, around_vn_day, None, None),
    "london": (UTC, datetime(2024, 3, 9), 72, around_vn_day, None, None),
    "nyc": (NEW_YORK, datetime(2024, 3, 9), 96, lambda ts: 10.0, None, None),
    "hue": (HCM, datetime(2024, 3, 7), 24 * 7, lambda ts: 10.0, None, None),
    "danang": (HCM, VN_DAY_START, 24, lambda ts: 10.0, None, FETCHED_AT),
    "haiphong": (HCM, VN_DAY_START, 24, lambda ts: 20.0, 60.0, None),
    "paris": (UTC, datetime(2024, 3, 10), 24, lambda ts: 15.0, 45.0, None),
    "cantho": (HCM, VN_DAY_START, 17, lambda ts: 80.0, 200.0, None),
}


def silver_hours(spark):
    """Silver hours of every scenario: gases at zero, PM as the scenario says."""
    rows = []
    for key, (_, start, count, pm25, pm10, forecast_after) in SCENARIOS.items():
        for h in range(count):
            ts = start + timedelta(hours=h)
            value: float = pm25(ts)
            forecast = forecast_after is not None and ts > forecast_after
            rows.append((key, ts, value, pm10, 0.0, 0.0, 0.0, 0.0, aqi_from_pm25(value), forecast))
    return spark.createDataFrame(rows, SCHEMA)


def zones(spark):
    rows = sorted((key, s[0]) for key, s in SCENARIOS.items())
    return spark.createDataFrame(rows, "location_key string, time_zone string")


@pytest.fixture(scope="module")
def rows(spark) -> list[dict]:
    """local_daily over every scenario at once (one Spark job)."""
    frame = local_daily(silver_hours(spark), zones(spark), AqiTable.EPA_2024, FIRST, STOP)
    return [r.asDict() for r in frame.collect()]


@pytest.fixture(scope="module")
def days(rows) -> dict[tuple[str, date], dict]:
    """The rows by location and local day."""
    return {(r["location_key"], r["date_local"]): r for r in rows}


@pytest.fixture(scope="module")
def dated(spark) -> dict[str, dict[date, list[datetime]]]:
    """The UTC hours of each location's local days, as with_local_dates assigns them."""
    frame = with_local_dates(silver_hours(spark), zones(spark))
    found: dict[str, dict[date, list[datetime]]] = {}
    for r in frame.select("location_key", "date_local", "ts_utc").collect():
        found.setdefault(r["location_key"], {}).setdefault(r["date_local"], []).append(r["ts_utc"])
    return found


def hours_of(found: dict[tuple[str, date], dict], key: str) -> dict[date, int]:
    return {day: row["total_hours"] for (k, day), row in found.items() if k == key}


def test_a_vietnamese_day_runs_from_17_utc_the_day_before(dated) -> None:
    hanoi = dated["hanoi"][MARCH_10]
    assert (min(hanoi), max(hanoi)) == (datetime(2024, 3, 9, 17), datetime(2024, 3, 10, 16))
    assert datetime(2024, 3, 9, 16) in dated["hanoi"][date(2024, 3, 9)]
    london = dated["london"][MARCH_10]
    assert (min(london), max(london)) == (datetime(2024, 3, 10), datetime(2024, 3, 10, 23))


def test_vietnamese_and_utc_days_group_the_same_hours_differently(days) -> None:
    hanoi, london = days[("hanoi", MARCH_10)], days[("london", MARCH_10)]
    assert (hanoi["total_hours"], hanoi["avg_pm25"], hanoi["max_pm25"]) == (24, 10.0, 10.0)
    assert hanoi["daily_aqi"] == aqi_from_pm25(10.0)
    # The UTC day holds Viet Nam's 17 hours from 00:00 and 7 hours after 17:00 UTC.
    assert london["total_hours"] == 24
    assert london["avg_pm25"] == round((17 * 10.0 + 7 * 100.0) / 24, 3)
    assert london["max_pm25"] == 100.0


def test_a_dst_day_has_23_local_hours_and_the_one_after_24(days, dated) -> None:
    # New York springs forward on 2024-03-10: EST (UTC-5) until 07:00 UTC, EDT (UTC-4) after.
    assert hours_of(days, "nyc") == {MARCH_10: 23, MARCH_11: 24}
    spring = dated["nyc"][MARCH_10]
    assert (min(spring), max(spring)) == (datetime(2024, 3, 10, 5), datetime(2024, 3, 11, 3))
    assert min(dated["nyc"][MARCH_11]) == datetime(2024, 3, 11, 4)


def test_only_local_days_in_the_window_come_out(days) -> None:
    assert {day for _, day in days} == {MARCH_10, MARCH_11}
    assert hours_of(days, "hue") == {MARCH_10: 24, MARCH_11: 24}


def test_forecast_hours_are_left_out_of_a_local_day(days) -> None:
    row = days[("danang", MARCH_10)]
    assert row["total_hours"] == 20, "the hours up to the fetch instant, none after"
    assert row["avg_pm25"] == 10.0


def test_vn_aqi_daily_and_who_flags_from_the_24_hour_means(days) -> None:
    high, at_guideline = days[("haiphong", MARCH_10)], days[("paris", MARCH_10)]
    # VN_AQI PM2.5 24 h: 0-25 µg/m³ -> 0-50, so 20 -> 40; PM10 50-150 -> 50-100, so 60 -> 55.
    assert high["vn_aqi_daily"] == 55
    assert (high["who_pm25_exceeded"], high["who_pm10_exceeded"]) == (True, True)
    assert at_guideline["vn_aqi_daily"] == 45  # PM10 45 -> 45, PM2.5 15 -> 30
    assert (at_guideline["who_pm25_exceeded"], at_guideline["who_pm10_exceeded"]) == (
        False,
        False,
    ), "a mean equal to the guideline is not above it"
    assert days[("hanoi", MARCH_10)]["who_pm10_exceeded"] is None, "no PM10 at all"


def test_under_18_hours_the_who_flags_and_vn_aqi_are_null(days) -> None:
    row = days[("cantho", MARCH_10)]
    assert row["total_hours"] == 17
    assert row["daily_aqi"] is None
    assert row["who_pm25_exceeded"] is None
    assert row["who_pm10_exceeded"] is None
    assert row["vn_aqi_daily"] is None, "no PM 24-hour mean, no daily VN_AQI"


def test_one_row_per_location_and_local_day(rows, days) -> None:
    assert {key for key, _ in days} == set(SCENARIOS)
    assert len(rows) == len(days)
