"""The report page renders when the page's hour has data but no listed city has daily rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from aqi_assets.report.page import render
from aqi_assets.report.page_data import City, ReportData
from aqi_assets.report.summary import markdown

AS_OF = datetime(2026, 3, 10, 9, tzinfo=UTC)


def _report(*cities: City) -> ReportData:
    return ReportData(
        as_of=AS_OF, cities=list(cities), has_nowcast=False, has_vn_aqi=False, has_forecast=False
    )


def test_cities_without_daily_rows_show_no_data() -> None:
    """Right after the locations file changed: dim_location's cities have no rows yet."""
    new = City("hue", "Hue", ZoneInfo("Asia/Ho_Chi_Minh"))
    page = render(_report(new), AS_OF)
    assert "Hue" in page
    assert "no data" in page
    assert "Daily AQI" in page
    assert "| Hue | n/a |" in markdown(_report(new))


def test_a_city_with_hours_but_no_days_yet_renders() -> None:
    hours = {AS_OF - timedelta(hours=n): 40 + n for n in range(3)}
    city = City("hue", "Hue", ZoneInfo("Asia/Ho_Chi_Minh"), AS_OF, 40, hourly=hours)
    other = City("hanoi", "Hanoi", ZoneInfo("Asia/Ho_Chi_Minh"))
    page = render(_report(city, other), AS_OF)
    assert page.count('<section class="city"') == 2
    assert "no data" in page
