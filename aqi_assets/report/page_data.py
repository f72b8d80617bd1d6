"""What the report shows, read from the gold tables through pyiceberg (no Spark, no JVM).

"Now" is the latest past hour with an AQI in `fact_hourly` (forecast hours left out when the
table marks them), so a report of an old warehouse shows that warehouse's last hour, not a gap.
Optional columns and tables (NowCast, VN_AQI, the forecast) are used when they exist.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.expressions import GreaterThanOrEqual

from aqi_assets.catalog import registry
from resources.iceberg.lakehouse_reader import LakehouseReader

HOURS_SHOWN = 7 * 24
EPISODE_DAYS = 30
NOWCAST_COLUMN = "nowcast_aqi"
VN_AQI_COLUMN = "vn_aqi"
FORECAST_FLAG = "is_forecast"


@dataclass(frozen=True)
class Episode:
    """A pollution episode as the page lists it."""

    start: datetime
    end: datetime
    hours: int
    max_aqi: int
    ongoing: bool


@dataclass
class City:
    """Everything the page and the summary show for one location."""

    key: str
    name: str
    zone: ZoneInfo
    now_ts: datetime | None = None
    now_aqi: int | None = None
    nowcast_aqi: int | None = None
    vn_aqi: int | None = None
    hourly: dict[datetime, int | None] = field(default_factory=dict)  # the last 7 days
    daily: dict[date, int | None] = field(default_factory=dict)  # the whole history
    episodes: list[Episode] = field(default_factory=list)  # the last 30 days
    forecast: dict[date, int] = field(default_factory=dict)  # highest AQI per coming local day

    def local(self, ts: datetime) -> datetime:
        """`ts` in the city's time zone."""
        return ts.astimezone(self.zone)

    @property
    def headline(self) -> int | None:
        """The AQI the page leads with: NowCast when the table has it, else the hourly AQI."""
        return self.nowcast_aqi if self.nowcast_aqi is not None else self.now_aqi

    @property
    def today_max(self) -> int | None:
        """The highest hourly AQI of the city's current local day, up to now."""
        if self.now_ts is None:
            return None
        today = self.local(self.now_ts).date()
        values = [
            v for ts, v in self.hourly.items() if v is not None and self.local(ts).date() == today
        ]
        return max(values, default=None)

    @property
    def week_max(self) -> int | None:
        """The highest hourly AQI of the last 7 days."""
        return max((v for v in self.hourly.values() if v is not None), default=None)

    @property
    def forecast_max(self) -> int | None:
        """The highest AQI the forecast expects over its days."""
        return max(self.forecast.values(), default=None)

    @property
    def ongoing(self) -> Episode | None:
        """The episode still running at the latest hour, if any."""
        return next((e for e in self.episodes if e.ongoing), None)


@dataclass(frozen=True)
class ReportData:
    """The cities, in name order, and the instant the report describes."""

    as_of: datetime | None
    cities: list[City]
    has_nowcast: bool
    has_vn_aqi: bool
    has_forecast: bool


def _utc(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _read(reader: LakehouseReader, spec: registry.TableSpec, columns: tuple[str, ...], since=None):
    """Rows of `spec` (columns that exist only), optionally where its window column >= since."""
    table = reader.load(*spec.table)
    present = {f.name for f in table.schema().fields}
    wanted = tuple(c for c in columns if c in present)
    row_filter = None
    if since is not None and spec.window_column:
        row_filter = GreaterThanOrEqual(spec.window_column, since.isoformat())
    return reader.read_arrow(*spec.table, row_filter=row_filter, selected_fields=wanted)


def _cities(reader: LakehouseReader, zones: Mapping[str, str]) -> dict[str, City]:
    rows = _read(reader, registry.DIM_LOCATION, ("location_key", "location_name")).to_pylist()
    return {
        r["location_key"]: City(
            r["location_key"],
            r["location_name"] or r["location_key"],
            ZoneInfo(zones.get(r["location_key"], "UTC")),
        )
        for r in rows
    }


def _load_hours(reader: LakehouseReader, cities: dict[str, City], since: date) -> datetime | None:
    """Fill the last 7 days of hours and each city's now; returns the report's now (UTC)."""
    spec = registry.FACT_HOURLY
    wanted = ("location_key", "ts_utc", "aqi", NOWCAST_COLUMN, VN_AQI_COLUMN, FORECAST_FLAG)
    hours = _read(reader, spec, wanted, since=datetime.combine(since, datetime.min.time(), UTC))
    if FORECAST_FLAG in hours.column_names:
        hours = hours.filter(pc.invert(pc.fill_null(hours[FORECAST_FLAG], False)))
    hours = hours.filter(pc.is_valid(hours["aqi"]))
    if not hours.num_rows:
        return None
    as_of = _utc(pc.max(hours["ts_utc"]).as_py())
    start = as_of - timedelta(hours=HOURS_SHOWN - 1)
    for row in hours.sort_by([("ts_utc", "ascending")]).to_pylist():
        city = cities.get(row["location_key"])
        ts = _utc(row["ts_utc"])
        if city is None or ts < start:
            continue
        city.hourly[ts] = row["aqi"]
        city.now_ts, city.now_aqi = ts, row["aqi"]
        city.nowcast_aqi = row.get(NOWCAST_COLUMN)
        city.vn_aqi = row.get(VN_AQI_COLUMN)
    return as_of


def _load_daily(reader: LakehouseReader, cities: dict[str, City]) -> date | None:
    """Fill each city's daily AQI over the whole history; returns the latest day of any city."""
    daily = _read(reader, registry.FACT_CITY_DAILY, ("location_key", "date_utc", "daily_aqi"))
    keys, days, values = (daily[c].to_pylist() for c in ("location_key", "date_utc", "daily_aqi"))
    for key, day, value in zip(keys, days, values, strict=True):
        if key in cities:
            cities[key].daily[day] = value
    return max(days, default=None)


def _load_episodes(reader: LakehouseReader, cities: dict[str, City], as_of: datetime) -> None:
    since = as_of - timedelta(days=EPISODE_DAYS)
    columns = ("location_key", "start_ts", "end_ts", "duration_hours", "max_aqi", "is_ongoing")
    table = _read(reader, registry.FACT_EPISODE, columns)
    table = table.filter(pc.greater_equal(table["end_ts"], pa.scalar(since, table["end_ts"].type)))
    for row in table.sort_by([("start_ts", "ascending")]).to_pylist():
        if row["location_key"] in cities:
            cities[row["location_key"]].episodes.append(
                Episode(
                    _utc(row["start_ts"]),
                    _utc(row["end_ts"]),
                    row["duration_hours"],
                    row["max_aqi"],
                    bool(row["is_ongoing"]),
                )
            )


def _load_forecast(reader: LakehouseReader, cities: dict[str, City], as_of: datetime) -> bool:
    """Highest forecast AQI per city and coming local day; False when there is no forecast."""
    spec = registry.FACT_AQI_FORECAST
    if not reader.table_exists(*spec.table):
        return False
    table = _read(reader, spec, ("location_key", "date_local", "aqi"))
    peaks: dict[tuple[str, date], int] = defaultdict(int)
    for key, day, aqi in zip(*(table[c].to_pylist() for c in table.column_names), strict=True):
        if key in cities and aqi is not None:
            peaks[key, day] = max(peaks[key, day], aqi)
    for (key, day), peak in sorted(peaks.items()):
        city = cities[key]
        if day >= city.local(as_of).date():
            city.forecast[day] = peak
    return True


def load_report(reader: LakehouseReader, zones: Mapping[str, str]) -> ReportData:
    """Read what the page shows; `zones` maps location keys to IANA zones (default UTC)."""
    cities = _cities(reader, zones)
    latest = _load_daily(reader, cities)
    as_of = None if latest is None else _load_hours(reader, cities, latest - timedelta(days=8))
    has_forecast = False
    if as_of is not None:
        _load_episodes(reader, cities, as_of)
        has_forecast = _load_forecast(reader, cities, as_of)
    columns = {f.name for f in reader.load(*registry.FACT_HOURLY.table).schema().fields}
    return ReportData(
        as_of=as_of,
        cities=sorted(cities.values(), key=lambda c: c.name),
        has_nowcast=NOWCAST_COLUMN in columns,
        has_vn_aqi=VN_AQI_COLUMN in columns,
        has_forecast=has_forecast,
    )
