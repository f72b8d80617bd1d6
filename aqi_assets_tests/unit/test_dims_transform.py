"""Dimension frames (SPEC §4): one row per location and pollutant keyed as configured, the 24 hours
with their period and peak flag, and one row per UTC day with its calendar attributes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from aqi_assets.transforms.dims import (
    PEAK_HOURS,
    dim_date,
    dim_location,
    dim_pollutant,
    dim_time,
)


@dataclass(frozen=True)
class City:
    key: str
    name: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Gas:
    key: str
    name: str
    unit: str
    description: str


def test_dim_location_has_one_row_per_configured_location(spark) -> None:
    cities = [City("hanoi", "Ha Noi", 21.0285, 105.8542), City("danang", "Da Nang", 16, 108)]
    frame = dim_location(spark, cities)
    assert frame.columns == ["location_key", "location_name", "latitude", "longitude"]
    assert [tuple(r) for r in frame.collect()] == [
        ("hanoi", "Ha Noi", 21.0285, 105.8542),
        ("danang", "Da Nang", 16.0, 108.0),
    ]
    assert dict(frame.dtypes)["latitude"] == "double"


def test_dim_pollutant_has_one_row_per_pollutant(spark) -> None:
    gases = [Gas("pm25", "PM2.5", "μg/m³", "Fine particles"), Gas("aqi", "US AQI", "", "Index")]
    frame = dim_pollutant(spark, gases)
    assert frame.columns == ["pollutant_key", "pollutant_name", "unit", "description"]
    assert [tuple(r) for r in frame.collect()] == [
        ("pm25", "PM2.5", "μg/m³", "Fine particles"),
        ("aqi", "US AQI", "", "Index"),
    ]


def test_dim_time_has_the_24_hours_with_period_and_peak(spark) -> None:
    rows = {r["time_key"]: r for r in dim_time(spark).collect()}
    assert sorted(rows) == list(range(24))
    assert all(r["hour"] == key for key, r in rows.items())
    periods = [rows[h]["period"] for h in range(24)]
    assert periods == ["Night"] * 6 + ["Morning"] * 6 + ["Afternoon"] * 6 + ["Evening"] * 6
    assert sorted(h for h, r in rows.items() if r["is_peak"]) == [7, 8, 9, 17, 18, 19]
    assert set(PEAK_HOURS) == {7, 8, 9, 17, 18, 19}


def test_dim_date_has_one_row_per_day_end_excluded(spark) -> None:
    rows = dim_date(spark, date(2024, 2, 27), date(2024, 3, 4)).orderBy("date_key").collect()
    assert [r["date_key"] for r in rows] == [
        20240227,
        20240228,
        20240229,
        20240301,
        20240302,
        20240303,
    ]
    assert rows[2]["date_utc"] == date(2024, 2, 29)
    first = rows[0].asDict()
    assert first == {
        "date_key": 20240227,
        "date_utc": date(2024, 2, 27),
        "year": 2024,
        "quarter": 1,
        "month": 2,
        "day": 27,
        "day_of_week": "Tuesday",
        "day_of_week_number": 2,
        "is_weekend": False,
    }
    weekend = {r["day_of_week"]: (r["day_of_week_number"], r["is_weekend"]) for r in rows}
    assert weekend["Saturday"] == (6, True)
    assert weekend["Sunday"] == (7, True)
    assert weekend["Friday"] == (5, False)


def test_dim_date_of_an_empty_range_is_empty(spark) -> None:
    assert dim_date(spark, date(2024, 3, 1), date(2024, 3, 1)).count() == 0
    assert dim_date(spark, date(2024, 3, 2), date(2024, 3, 1)).count() == 0


def test_dim_date_quarters_and_year_change(spark) -> None:
    rows = dim_date(spark, date(2024, 12, 31), date(2025, 1, 2)).orderBy("date_key").collect()
    assert [(r["date_key"], r["year"], r["quarter"]) for r in rows] == [
        (20241231, 2024, 4),
        (20250101, 2025, 1),
    ]
