"""The report as one self-contained HTML page (inline CSS and SVG), written atomically."""

from __future__ import annotations

import os
import tempfile
from datetime import date, datetime
from html import escape
from pathlib import Path

from aqi_assets.report import charts
from aqi_assets.report.categories import CATEGORIES, category_of
from aqi_assets.report.page_data import City, ReportData

STYLE = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2937;background:#f5f6f8}
header,main,footer{max-width:1180px;margin:0 auto;padding:12px 20px}
h1{font-size:22px;margin:8px 0 2px}h2{font-size:18px;margin:0}h3{font-size:13px;margin:10px 0 4px;color:#4b5563;font-weight:600}
.muted{color:#6b7280}.legend span{display:inline-block;padding:2px 8px;margin:2px 4px 2px 0;border-radius:3px;font-size:12px}
table{border-collapse:collapse;background:#fff;width:100%}th,td{padding:4px 8px;border-bottom:1px solid #e5e7eb;text-align:left}
th{font-size:12px;color:#4b5563}td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;min-width:34px;padding:1px 6px;border-radius:3px;text-align:center;font-weight:600}
section.city{background:#fff;border:1px solid #e5e7eb;border-radius:6px;margin:16px 0;padding:12px 16px}
.head{display:flex;gap:16px;align-items:center;flex-wrap:wrap}.now{font-size:30px;font-weight:700;padding:4px 14px;border-radius:6px}
.grid{display:flex;flex-wrap:wrap;gap:8px 28px}.scroll{overflow-x:auto}
svg.chart{display:block;max-width:100%;height:auto}svg text{font-size:10px;fill:#4b5563}svg text.value{font-weight:600;fill:#111}
svg text.empty{font-size:12px}ul.episodes{margin:4px 0;padding-left:18px}.ongoing{font-weight:700;color:#b91c1c}
"""


def _badge(aqi: int | None, cls: str = "badge", title: str | None = None) -> str:
    category = category_of(aqi)
    if category is None:
        return f'<span class="{cls}" style="background:#e4e4e4">n/a</span>'
    return (
        f'<span class="{cls}" style="background:{category.colour};color:{category.text_colour}" '
        f'title="{escape(title or category.name)}">{aqi}</span>'
    )


def _when(city: City, ts: datetime | None) -> str:
    return "n/a" if ts is None else city.local(ts).strftime("%d %b %H:%M")


def _legend() -> str:
    spans = "".join(
        f'<span style="background:{c.colour};color:{c.text_colour}">{c.low}-{c.high} {escape(c.name)}</span>'
        for c in CATEGORIES
    )
    return f'<div class="legend">{spans}</div>'


def _overview(report: ReportData) -> str:
    head = ["city", "now", "category", "today's max", "worst of 7 days"]
    if report.has_forecast:
        head.append("forecast max")
    head.append("episode")
    rows = []
    for city in report.cities:
        category = category_of(city.headline)
        cells = [
            f'<td><a href="#{escape(city.key)}">{escape(city.name)}</a></td>',
            f'<td class="num">{_badge(city.headline)}</td>',
            f"<td>{escape(category.name) if category else 'no data'}</td>",
            f'<td class="num">{_badge(city.today_max)}</td>',
            f'<td class="num">{_badge(city.week_max)}</td>',
        ]
        if report.has_forecast:
            cells.append(f'<td class="num">{_badge(city.forecast_max)}</td>')
        ongoing = city.ongoing
        cells.append(
            f'<td class="ongoing">ongoing since {_when(city, ongoing.start)}</td>'
            if ongoing
            else "<td></td>"
        )
        rows.append(f"<tr>{''.join(cells)}</tr>")
    header = "".join(f"<th>{escape(h)}</th>" for h in head)
    return f'<table class="overview"><tr>{header}</tr>{"".join(rows)}</table>'


def _now_block(report: ReportData, city: City) -> str:
    category = category_of(city.headline)
    name = category.name if category else "no data"
    what = "NowCast AQI" if report.has_nowcast and city.nowcast_aqi is not None else "hourly AQI"
    parts = [
        _badge(city.headline, cls="now"),
        f"<div><b>{escape(name)}</b><br><span class='muted'>{what}, "
        f"{_when(city, city.now_ts)} local</span></div>",
    ]
    if report.has_nowcast and city.nowcast_aqi is not None:
        parts.append(f"<div>hourly {_badge(city.now_aqi)}</div>")
    if report.has_vn_aqi:
        # Decision 1459/QĐ-TCMT bands its index at the same values and in the same colours.
        parts.append(f"<div>VN_AQI {_badge(city.vn_aqi, title='VN_AQI')}</div>")
    return "".join(parts)


def _episodes(city: City) -> str:
    if not city.episodes:
        return ""
    items = [
        f"<li{' class=ongoing' if e.ongoing else ''}>{_when(city, e.start)} to "
        f"{'now' if e.ongoing else _when(city, e.end)}: {e.hours} h, max {_badge(e.max_aqi)}"
        f"{' (ongoing)' if e.ongoing else ''}</li>"
        for e in reversed(city.episodes)
    ]
    return f'<ul class="episodes">{"".join(items)}</ul>'


def _city(report: ReportData, city: City, as_of: datetime, first: date, last: date) -> str:
    charts_row = [f"<div><h3>Hourly AQI, last 7 days</h3>{charts.hourly_line(city, as_of)}</div>"]
    if report.has_forecast:
        charts_row.append(
            f"<div><h3>Forecast: highest AQI per day</h3>{charts.forecast_bars(city)}</div>"
        )
    return (
        f'<section class="city" id="{escape(city.key)}"><div class="head"><h2>{escape(city.name)}</h2>'
        f"{_now_block(report, city)}</div>"
        f'<div class="grid">{"".join(charts_row)}</div>'
        f"<h3>Episodes (AQI &ge; threshold for hours on end), last 30 days</h3>"
        f"{charts.episode_strip(city, as_of)}{_episodes(city)}"
        f"<h3>Daily AQI (24-hour mean PM2.5, UTC days), {first:%d %b %Y} to {last:%d %b %Y}</h3>"
        '<div class="scroll">'
        f"{charts.calendar(city, first, last)}</div></section>"
    )


def render(report: ReportData, generated_at: datetime) -> str:
    """The whole page for `report`."""
    title = "Air quality at a glance"
    if report.as_of is None:
        body = "<p>No hourly data yet: materialize the gold tables, then this report.</p>"
    else:
        # No listed city may have daily rows yet (the locations file just changed): the
        # calendars then show the page's day, as "no data".
        days = [d for city in report.cities for d in city.daily] or [report.as_of.date()]
        first, last = min(days), max(days)
        body = f"{_overview(report)}" + "".join(
            _city(report, city, report.as_of, first, last) for city in report.cities
        )
    as_of = "no data" if report.as_of is None else report.as_of.strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{title}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{title}</h1><div class='muted'>US EPA AQI (PM2.5) as of the latest hour, "
        f"{as_of}; page built {generated_at:%Y-%m-%d %H:%M} UTC.</div>{_legend()}</header>"
        f"<main>{body}</main>"
        '<footer class="muted">Air quality data by <a href="https://open-meteo.com/">Open-Meteo.com</a>, '
        'licensed under <a href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a> '
        "(CAMS / Copernicus Atmosphere Monitoring Service data underneath).</footer>"
        "</body></html>"
    )


def write_atomically(path: Path, text: str) -> int:
    """Write `text` to `path` through a temporary file and a rename; returns the bytes written.

    A reader opening the page sees the previous version or the new one, never half of one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return len(data)
