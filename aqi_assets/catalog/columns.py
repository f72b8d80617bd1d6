"""What every column of every table means: the one place the UI's column descriptions come from.

`TABLE_COLUMNS` lists, per table of the registry, its columns in the order its asset writes them
with their meaning (SPEC §4, §5, §9). `aqi_assets.quality.metadata.column_schema` turns them into
`dagster/column_schema`; the tests compare them with the schemas the assets write. Pollutant
columns take their meaning from the pollutant catalogue, so a pollutant added there is described
everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aqi_assets.catalog import registry as r
from aqi_assets.catalog.pollutants import (
    CATALOGUE,
    Role,
    cross_check_columns,
    measured_columns,
)
from aqi_assets.catalog.table_spec import TableSpec
from aqi_assets.transforms.daily import CATEGORY_COLUMNS


def _unit(unit: str) -> str:
    return f" ({unit})" if unit else ""


# Hourly values as silver and the facts name them (the catalogue's keys).
POLLUTANTS = {
    e.key: f"{e.description}{_unit(e.unit)}: the hour's value, null when missing"
    for e in CATALOGUE
    if e.role is not Role.COMPUTED
}
# The same values under Open-Meteo's own variable names, as bronze and the rejects keep them.
VARIABLES = {
    e.variable: f"{e.description}{_unit(e.unit)}, as Open-Meteo returned it"
    for e in CATALOGUE
    if e.variable
}
CATEGORIES = {
    c: f"Hours of the day whose AQI falls in the {c.removeprefix('hours_')} category"
    for c in CATEGORY_COLUMNS
}
SHARED = {
    "location_key": "Location key of the locations file (dim_location)",
    "ts_utc": "Start of the hour, UTC",
    "date_key": "UTC day of the hour as an int yyyyMMdd (dim_date)",
    "time_key": "UTC hour of day, 0-23 (dim_time)",
    "date_utc": "UTC calendar day",
    "date_local": "Calendar day in the location's IANA time zone",
    "time": "Hour as the API returned it (UTC, YYYY-MM-DDTHH:MM)",
    "event_date": "UTC day of the hour (the partition)",
    "grid_latitude": "Latitude of the model grid cell the API answered for",
    "grid_longitude": "Longitude of the model grid cell the API answered for",
    "elevation": "Elevation of the grid cell in metres, as the API returned it",
    "ingested_at": "When the row was fetched and written to bronze (UTC)",
    "source": "Request URL the row came from, without secrets",
    "batch_id": "Dagster run id of the ingest that wrote the row",
    "row_hash": "Fingerprint of the row's business fields (location, hour, values)",
    "is_forecast": "The hour had not happened when fetched: a model forecast, not a reading",
    "model_run_at": "Start of the model run the values come from (UTC), null when unknown",
    "aqi": "US EPA AQI of the hour's PM2.5 (SPEC §5)",
    "aqi_category": "EPA category of `aqi` (Good ... Hazardous)",
    "nowcast_pm25": "EPA NowCast of PM2.5 (µg/m³, truncated to 0.1), null with too few hours",
    "nowcast_aqi": "US AQI of `nowcast_pm25`: what AirNow publishes hourly",
    "nowcast_pm10": "EPA NowCast of PM10 (µg/m³, truncated to 1), null with too few hours",
    "nowcast_pm10_aqi": "US AQI of `nowcast_pm10`",
    "avg_pm25": "Mean hourly PM2.5 (µg/m³)",
    "max_pm25": "Highest hourly PM2.5 (µg/m³)",
    "min_pm25": "Lowest hourly PM2.5 (µg/m³)",
    "avg_aqi": "Mean hourly AQI",
    "max_aqi": "Highest hourly AQI",
    "daily_aqi": "AQI of the 24-hour mean PM2.5; null under 18 hours with PM2.5",
    "total_hours": "Hours of the day present",
    "hours_with_pm25": "Hours of the day with a PM2.5 value",
    **CATEGORIES,
}
# Bronze's columns, which the rejects keep unchanged.
BRONZE = (
    "location_key", "time", "ts_utc", "event_date", *VARIABLES,
    "grid_latitude", "grid_longitude", "elevation",
    "ingested_at", "source", "batch_id", "row_hash", "is_forecast", "model_run_at",
)  # fmt: skip
DAILY = (
    "avg_pm25", "max_pm25", "min_pm25", "avg_aqi", "max_aqi", "daily_aqi", "total_hours",
    *CATEGORY_COLUMNS, "hours_with_pm25",
)  # fmt: skip
INDICES = {
    "aqi_overall": "Overall US AQI: the largest EPA sub-index of all pollutants, each on its "
    "averaging period",
    "dominant_pollutant": "Pollutant whose sub-index gives `aqi_overall`",
    "vn_aqi": "Hourly VN_AQI (Decision 1459/QĐ-TCMT): the largest VN sub-index of the hour",
    "vn_dominant_pollutant": "Pollutant whose sub-index gives `vn_aqi`",
}


def _described(names: Iterable[str], own: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each of `names` with its own description, else the shared one ('' when neither has it:
    the tests refuse an undescribed column)."""
    mine = own or {}
    return {n: mine.get(n) or SHARED.get(n) or POLLUTANTS.get(n) or "" for n in names}


# Each table's columns, in the order its asset writes them.
SILVER = (
    "location_key", "ts_utc", "date_key", "time_key", *measured_columns().values(),
    *cross_check_columns(), "aqi", "aqi_category", "ingested_at", "batch_id", "row_hash",
    "is_forecast", "model_run_at", "nowcast_pm25_raw", "nowcast_pm10_raw", "nowcast_pm25",
    "nowcast_aqi", "nowcast_pm10", "nowcast_pm10_aqi", "us_aqi_pm2_5_recomputed",
)  # fmt: skip
DATE = (
    "date_key", "date_utc", "year", "quarter", "month", "day", "day_of_week",
    "day_of_week_number", "is_weekend",
)  # fmt: skip
HOURLY = (
    "location_key", "date_key", "time_key", "ts_utc", "pm25", "pm10", "o3", "no2", "so2", "co",
    "aqi", "aod", "dust", "uv_index", "nowcast_pm25", "nowcast_aqi", "nowcast_pm10",
    "nowcast_pm10_aqi", *INDICES, "is_forecast",
)  # fmt: skip
EPISODE = (
    "episode_id", "location_key", "start_ts", "end_ts", "start_date", "duration_hours",
    "avg_aqi", "max_aqi", "severity_level", "aqi_threshold", "is_ongoing",
)  # fmt: skip
FORECAST = (
    "location_key", "ts_utc", "date_local", "pm25", "aqi", "aqi_category", "model_run_at",
    "fetched_at",
)  # fmt: skip
POLLUTANT_ROWS = (
    "location_key", "date_key", "time_key", "ts_utc", "pollutant_key", "concentration", "unit",
    "averaging_period", "averaged_concentration", "averaged_unit", "epa_sub_index",
    "vn_sub_index", "is_forecast",
)  # fmt: skip
LOCAL_DAILY = (
    "location_key", "date_local", *DAILY, "vn_aqi_daily", "who_pm25_exceeded",
    "who_pm10_exceeded",
)  # fmt: skip


TABLE_COLUMNS: dict[str, dict[str, str]] = {
    r.BRONZE_RAW.asset: _described(BRONZE, VARIABLES),
    r.SILVER_HOURLY.asset: _described(
        SILVER,
        {
            "nowcast_pm25_raw": "EPA NowCast of PM2.5 before truncation (VN_AQI's hourly input)",
            "nowcast_pm10_raw": "EPA NowCast of PM10 before truncation (VN_AQI's hourly input)",
            "us_aqi_pm2_5_recomputed": "Open-Meteo's `us_aqi_pm2_5` recomputed its way (mean "
            "of the 24 hours before, interpolated): a cross-check, never a source",
        },
    ),
    r.SILVER_REJECTS.asset: _described(
        [*BRONZE, "reason", "rejected_at"],
        {
            **VARIABLES,
            "reason": "Why the row was rejected (invalid time, out of range, duplicate, ...)",
            "rejected_at": "When silver rejected the row (UTC)",
        },
    ),
    r.DIM_LOCATION.asset: _described(
        ["location_key", "location_name", "latitude", "longitude"],
        {
            "location_name": "Display name of the location",
            "latitude": "Latitude requested for the location (WGS84)",
            "longitude": "Longitude requested for the location (WGS84)",
        },
    ),
    r.DIM_POLLUTANT.asset: _described(
        ["pollutant_key", "pollutant_name", "unit", "description"],
        {
            "pollutant_key": "Pollutant key: its column name in silver and the facts",
            "pollutant_name": "Display name of the pollutant",
            "unit": "Unit of its values as Open-Meteo reports them",
            "description": "What the pollutant is",
        },
    ),
    r.DIM_TIME.asset: _described(
        ["time_key", "hour", "period", "is_peak"],
        {
            "hour": "Hour of day, 0-23",
            "period": "Part of the day: Night, Morning, Afternoon or Evening",
            "is_peak": "Rush hour: 7-9 or 17-19",
        },
    ),
    r.DIM_DATE.asset: _described(
        DATE,
        {
            "date_key": "Day as an int yyyyMMdd",
            "year": "Calendar year",
            "quarter": "Quarter of the year, 1-4",
            "month": "Month, 1-12",
            "day": "Day of the month",
            "day_of_week": "Weekday name (Monday ... Sunday)",
            "day_of_week_number": "ISO weekday number, 1 (Monday) - 7 (Sunday)",
            "is_weekend": "Saturday or Sunday",
        },
    ),
    r.FACT_HOURLY.asset: _described(
        HOURLY,
        INDICES,
    ),
    r.FACT_CITY_DAILY.asset: _described(
        ["location_key", "date_key", "date_utc", *DAILY, "is_final"],
        {"is_final": "Every hour of the day was fetched from a model run started after it ended"},
    ),
    r.FACT_EPISODE.asset: _described(
        EPISODE,
        {
            "episode_id": "Deterministic id of the episode (location and start hour)",
            "start_ts": "First hour of the episode (UTC)",
            "end_ts": "Last hour of the episode (UTC)",
            "start_date": "UTC day the episode starts (the partition it belongs to)",
            "duration_hours": "Consecutive hours with AQI at or above the threshold",
            "avg_aqi": "Mean hourly AQI over the episode",
            "max_aqi": "Highest hourly AQI of the episode",
            "severity_level": "EPA category of `max_aqi`",
            "aqi_threshold": "AQI threshold the episode was detected with",
            "is_ongoing": "The episode reaches the latest hour available: it may still grow",
        },
    ),
    r.FACT_AQI_FORECAST.asset: _described(
        FORECAST,
        {
            "pm25": "Forecast PM2.5 of the hour (µg/m³)",
            "aqi": "US EPA AQI of the forecast PM2.5",
            "fetched_at": "When the forecast was fetched (UTC)",
        },
    ),
    r.FACT_POLLUTANT_HOURLY.asset: _described(
        POLLUTANT_ROWS,
        {
            "pollutant_key": "Pollutant of the row (dim_pollutant)",
            "concentration": "The pollutant's hourly concentration, in `unit`",
            "unit": "Unit of `concentration` (dim_pollutant)",
            "averaging_period": "EPA averaging period of `averaged_concentration`",
            "averaged_concentration": "Concentration averaged over the period, truncated in the "
            "EPA table's unit",
            "averaged_unit": "Unit of `averaged_concentration` (ppm, ppb or µg/m³, 25 °C)",
            "epa_sub_index": "US EPA sub-index of the pollutant (EPA TAD 2024)",
            "vn_sub_index": "Hourly VN_AQI sub-index (Decision 1459/QĐ-TCMT)",
        },
    ),
    r.FACT_CITY_DAILY_LOCAL.asset: _described(
        LOCAL_DAILY,
        {
            "vn_aqi_daily": "Daily VN_AQI of the local day (Decision 1459/QĐ-TCMT)",
            "who_pm25_exceeded": "24-hour mean PM2.5 above the WHO 2021 guideline (15 µg/m³); "
            "null under 18 hours with data",
            "who_pm10_exceeded": "24-hour mean PM10 above the WHO 2021 guideline (45 µg/m³); "
            "null under 18 hours with data",
        },
    ),
}


def column_descriptions(table: TableSpec) -> dict[str, str]:
    """Column -> description of `table` (empty for a table the catalogue does not list)."""
    return TABLE_COLUMNS.get(table.asset, {})
