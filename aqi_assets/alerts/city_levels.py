"""Each city's current NowCast AQI, VN_AQI and tomorrow's forecast peak: written into the report's
materialization, read back by the air-quality alert sensor (no Spark in a sensor)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg

from aqi_assets.alerts.alert_messages import Alert, unhealthy_forecast, unhealthy_now
from aqi_assets.report.categories import category_of
from aqi_assets.report.page_data import ReportData
from aqi_assets.transforms.aqi.breakpoints import VN_CATEGORIES

LEVELS_ENTRY = "alert_levels"
UNHEALTHY = 151  # both indices' "Unhealthy" / "Bad" band starts here (SPEC §9)
# Categories from Unhealthy up, ranked: a worse one later the same day is a new message.
EPA_ALERT_BANDS = ("Unhealthy", "Very Unhealthy", "Hazardous")


@dataclass(frozen=True)
class CityLevel:
    """One city's numbers as the report last computed them."""

    key: str
    name: str
    now_utc: str | None  # the latest past hour, ISO
    local_day: str | None  # that hour's local calendar day
    local_time: str | None  # HH:MM local
    nowcast_aqi: int | None  # the NowCast AQI, else the hourly AQI (see index)
    index: str  # "NowCast AQI" or "AQI"
    vn_aqi: int | None
    next_day: str | None  # the local day after local_day
    next_day_max: int | None  # the forecast's highest AQI that day


def levels_of(report: ReportData) -> list[dict[str, Any]]:
    """The report's per-city levels as JSON-ready dicts."""
    levels = []
    for city in report.cities:
        now = city.now_ts or report.as_of
        local = city.local(now) if now else None
        next_day = local.date() + timedelta(days=1) if local else None
        levels.append(
            asdict(
                CityLevel(
                    key=city.key,
                    name=city.name,
                    now_utc=now.isoformat() if now else None,
                    local_day=local.date().isoformat() if local else None,
                    local_time=f"{local:%H:%M}" if local else None,
                    nowcast_aqi=city.headline,
                    index="NowCast AQI" if city.nowcast_aqi is not None else "AQI",
                    vn_aqi=city.vn_aqi,
                    next_day=next_day.isoformat() if next_day else None,
                    next_day_max=city.forecast.get(next_day) if next_day else None,
                )
            )
        )
    return levels


def levels_metadata(report: ReportData) -> dict[str, dg.MetadataValue]:
    """The report materialization's entry the alert sensor reads."""
    return {LEVELS_ENTRY: dg.MetadataValue.json(levels_of(report))}


def read_levels(metadata: Mapping[str, Any]) -> list[CityLevel]:
    """The levels in a report materialization's metadata; [] when it has none."""
    entry = metadata.get(LEVELS_ENTRY)
    rows = getattr(entry, "value", entry) or []
    fields = CityLevel.__dataclass_fields__
    return [CityLevel(**{k: row.get(k) for k in fields}) for row in rows if isinstance(row, dict)]


def _epa_band(value: int | None) -> tuple[str, int] | None:
    category = category_of(value)
    if value is None or value < UNHEALTHY or category is None:
        return None
    return category.name, EPA_ALERT_BANDS.index(category.name)


def _vn_band(value: int | None) -> tuple[str, int] | None:
    if value is None or value < UNHEALTHY:
        return None
    bands = [name for name, low, _ in VN_CATEGORIES if low >= UNHEALTHY]
    name = next((n for n, _, high in VN_CATEGORIES if value <= high), VN_CATEGORIES[-1][0])
    return name, bands.index(name)


def _is_current(level: CityLevel, now: datetime, max_age: timedelta) -> bool:
    if not level.now_utc or not level.local_day:
        return False
    at = datetime.fromisoformat(level.now_utc)
    return now - (at if at.tzinfo else at.replace(tzinfo=UTC)) <= max_age


def air_alerts(levels: list[CityLevel], now: datetime, max_age: timedelta) -> list[Alert]:
    """Alerts for cities at Unhealthy or worse now (NowCast AQI, VN_AQI) or tomorrow (forecast).

    Levels older than `max_age` (an old warehouse, a stopped refresh) raise none: they are news
    of another day, and the stale-table alert covers a stopped refresh.
    """
    alerts = []
    for level in levels:
        if not _is_current(level, now, max_age):
            continue
        day = date.fromisoformat(level.local_day or "")
        at = level.local_time or "?"
        if band := _epa_band(level.nowcast_aqi):
            alerts.append(
                unhealthy_now(level.key, level.name, level.index, level.nowcast_aqi, *band, day, at)
            )
        if band := _vn_band(level.vn_aqi):
            alerts.append(
                unhealthy_now(level.key, level.name, "VN_AQI", level.vn_aqi, *band, day, at)
            )
        if level.next_day and (band := _epa_band(level.next_day_max)):
            alerts.append(
                unhealthy_forecast(
                    level.key,
                    level.name,
                    level.next_day_max,
                    *band,
                    date.fromisoformat(level.next_day),
                )
            )
    return alerts
