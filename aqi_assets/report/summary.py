"""The Markdown the asset's materialization carries: one row per city and a text sparkline."""

from __future__ import annotations

from datetime import timedelta

from aqi_assets.report.categories import category_of
from aqi_assets.report.page_data import City, ReportData

BARS = "▁▂▃▄▅▆▇█"
SPARK_DAYS = 7


def sparkline(values: list[int | None], top: int = 300) -> str:
    """Values as block characters (0..top over 8 steps), a dot for a missing value."""
    return "".join(
        "·" if v is None else BARS[min(len(BARS) - 1, v * len(BARS) // (top + 1))] for v in values
    )


def daily_peaks(city: City) -> list[int | None]:
    """The highest hourly AQI of each of the last 7 local days, oldest first."""
    if city.now_ts is None:
        return []
    today = city.local(city.now_ts).date()
    peaks: dict = {today - timedelta(days=n): None for n in range(SPARK_DAYS - 1, -1, -1)}
    for ts, aqi in city.hourly.items():
        day = city.local(ts).date()
        if day in peaks and aqi is not None:
            peaks[day] = max(aqi, peaks[day] or 0)
    return list(peaks.values())


def _aqi(value: int | None) -> str:
    category = category_of(value)
    return "n/a" if category is None else f"{value} {category.short}"


def markdown(report: ReportData) -> str:
    """City, now, today's max, worst of 7 days, forecast max, ongoing episode, 7-day sparkline."""
    if report.as_of is None:
        return "No hourly data yet: materialize the gold facts first."
    head = ["city", "now", "today's max", "worst of 7 days"]
    if report.has_vn_aqi:
        head.insert(2, "VN_AQI")
    if report.has_forecast:
        head.append("forecast max")
    head += ["ongoing episode", "daily max, 7 days"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for city in report.cities:
        ongoing = city.ongoing
        cells = [city.name, _aqi(city.headline), _aqi(city.today_max), _aqi(city.week_max)]
        if report.has_vn_aqi:
            cells.insert(2, "n/a" if city.vn_aqi is None else str(city.vn_aqi))
        if report.has_forecast:
            cells.append(_aqi(city.forecast_max))
        cells.append(
            f"since {city.local(ongoing.start):%d %b %H:%M}, max {ongoing.max_aqi}"
            if ongoing
            else ""
        )
        cells.append(f"`{sparkline(daily_peaks(city))}`")
        lines.append("| " + " | ".join(cells) + " |")
    now = "; now is the NowCast" if report.has_nowcast else ""
    return f"As of {report.as_of:%Y-%m-%d %H:%M} UTC (US EPA AQI{now}).\n\n" + "\n".join(lines)
