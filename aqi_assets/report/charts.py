"""The page's charts as inline SVG strings: no script, no network, nothing to load.

Every chart is an `<svg class="chart KIND">`; the drawn data are `<path class="data">` elements
(one path per colour where there are many cells, which keeps 100 cities' calendars small).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from html import escape

from aqi_assets.report.categories import CATEGORIES, NO_DATA_COLOUR, category_of, colour_of
from aqi_assets.report.page_data import EPISODE_DAYS, HOURS_SHOWN, City

AXIS = "#777777"
LINE = "#1f2937"
CELL, STEP = 9, 11  # calendar cell size and pitch, px
WEEKDAYS = ("Mon", "", "Wed", "", "Fri", "", "")


def _svg(kind: str, width: int, height: int, label: str, body: list[str]) -> str:
    return (
        f'<svg class="chart {kind}" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(label)}">{"".join(body)}</svg>'
    )


def _text(x: float, y: float, text: str, anchor: str = "middle", cls: str = "tick") -> str:
    return (
        f'<text class="{cls}" x="{x:.0f}" y="{y:.0f}" text-anchor="{anchor}">{escape(text)}</text>'
    )


def _path(d: str, cls: str, **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f'<path class="{cls}" d="{d}"{extra}/>'


def _y_top(peak: int | None) -> int:
    """The top of the y axis: the upper bound of the highest band reached, at least Moderate's."""
    category = category_of(peak) or CATEGORIES[1]
    return max(CATEGORIES[1].high, category.high)


def hourly_line(city: City, end: datetime) -> str:
    """The last 7 days of hourly AQI as a line over the category bands (x: the city's local days)."""
    width, height, left, bottom, top = 600, 170, 30, 18, 6
    plot_w, plot_h = width - left - 8, height - bottom - top
    y_top = _y_top(city.week_max)
    start = end - timedelta(hours=HOURS_SHOWN - 1)

    def x(ts: datetime) -> float:
        return left + plot_w * (ts - start).total_seconds() / 3600 / (HOURS_SHOWN - 1)

    def y(aqi: float) -> float:
        return top + plot_h * (1 - min(aqi, y_top) / y_top)

    body = []
    for band in CATEGORIES:
        if band.low >= y_top:
            break
        upper, lower = y(min(band.high + 1, y_top)), y(band.low)
        body.append(
            f'<rect x="{left}" y="{upper:.1f}" width="{plot_w}" height="{lower - upper:.1f}" '
            f'fill="{band.colour}" fill-opacity="0.28"><title>{escape(band.name)}</title></rect>'
        )
        body.append(_text(left - 4, upper + 4, str(min(band.high, y_top)), anchor="end"))
    body.append(_text(left - 4, top + plot_h + 3, "0", anchor="end"))
    ticks = []
    for hour in range(HOURS_SHOWN):
        ts = start + timedelta(hours=hour)
        local = city.local(ts)
        if local.hour == 0:
            ticks.append(f"M{x(ts):.1f} {top}V{top + plot_h}")
            if x(ts) < width - 40:
                body.append(_text(x(ts) + 2, height - 5, local.strftime("%a %d"), anchor="start"))
    body.append(_path("".join(ticks) + f"M{left} {top + plot_h}h{plot_w}", "axis", stroke=AXIS))
    segments, previous = [], None
    for ts, aqi in sorted(city.hourly.items()):
        if aqi is None:
            previous = None
            continue
        joined = previous is not None and ts - previous == timedelta(hours=1)
        segments.append(f"{'L' if joined else 'M'}{x(ts):.1f} {y(aqi):.1f}")
        previous = ts
    if segments:
        body.append(_path("".join(segments), "data", fill="none", stroke=LINE, stroke_width="1.6"))
    else:
        body.append(_text(width / 2, height / 2, "no hours in the last 7 days", cls="empty"))
    return _svg("hourly", width, height, f"{city.name}: hourly AQI, last 7 days", body)


def calendar(city: City, first: date, last: date) -> str:
    """Daily AQI over [first, last] as a calendar (weeks as columns, Monday on top), EPA colours."""
    left, top = 26, 14
    origin = first - timedelta(days=first.weekday())
    weeks = (last - origin).days // 7 + 1
    width, height = left + weeks * STEP + 2, top + 7 * STEP + 2
    cells: dict[str, list[str]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    body = [_text(0, top + i * STEP + 8, d, anchor="start") for i, d in enumerate(WEEKDAYS) if d]
    day = first
    while day <= last:
        offset = (day - origin).days
        col, row = divmod(offset, 7)
        value = city.daily.get(day)
        category = category_of(value)
        name = category.name if category else "no data"
        cells[colour_of(value)].append(
            f"M{left + col * STEP} {top + row * STEP}h{CELL}v{CELL}h-{CELL}z"
        )
        counts[name] += 1
        if day.day == 1 or (day == first and day.day <= 15):
            label = day.strftime("%Y" if day.month == 1 else "%b")
            body.append(_text(left + col * STEP, 10, label, anchor="start"))
        day += timedelta(days=1)
    names = {c.colour: c.name for c in CATEGORIES} | {NO_DATA_COLOUR: "no data"}
    for colour, parts in cells.items():
        title = f"<title>{escape(names[colour])}: {counts[names[colour]]} days</title>"
        body.append(f'<path class="data" fill="{colour}" d="{"".join(parts)}">{title}</path>')
    return _svg("calendar", width, height, f"{city.name}: daily AQI, {first} to {last}", body)


def episode_strip(city: City, end: datetime) -> str:
    """The last 30 days as a strip with each episode as a bar in its peak's colour."""
    width, height, left, right = 600, 46, 6, 6
    plot_w = width - left - right
    start = end - timedelta(days=EPISODE_DAYS)
    span = (end - start).total_seconds()

    def x(ts: datetime) -> float:
        return left + plot_w * max(0.0, min(1.0, (ts - start).total_seconds() / span))

    ticks = [f"M{left} 26h{plot_w}"]
    body = []
    for days_back in range(0, EPISODE_DAYS + 1, 7):
        ts = end - timedelta(days=days_back)
        ticks.append(f"M{x(ts):.1f} 26v4")
        anchor = "end" if days_back == 0 else "middle"
        body.append(_text(x(ts), 42, city.local(ts).strftime("%d %b"), anchor=anchor))
    body.insert(0, _path("".join(ticks), "axis", stroke=AXIS))
    for episode in city.episodes:
        x0, x1 = x(episode.start), x(episode.end + timedelta(hours=1))
        d = f"M{x0:.1f} 6H{max(x1, x0 + 2):.1f}V24H{x0:.1f}z"
        attrs = {"fill": colour_of(episode.max_aqi)}
        if episode.ongoing:
            attrs |= {"stroke": "#111111", "stroke_width": "2"}
        body.append(_path(d, "data" + (" ongoing" if episode.ongoing else ""), **attrs))
    if not city.episodes:
        body.append(_text(width / 2, 18, "no episodes in the last 30 days", cls="empty"))
    return _svg("episodes", width, height, f"{city.name}: episodes, last 30 days", body)


def forecast_bars(city: City) -> str:
    """The forecast's highest AQI per coming local day, as bars in EPA colours."""
    days = sorted(city.forecast)
    column, height, base = 70, 120, 96
    width = max(column * len(days), 210)
    y_top = _y_top(city.forecast_max)
    body = [_path(f"M0 {base}h{width}", "axis", stroke=AXIS)]
    for i, day in enumerate(days):
        peak = city.forecast[day]
        bar = max(2.0, (base - 16) * min(peak, y_top) / y_top)
        x0 = i * column + 12
        body.append(
            _path(f"M{x0} {base}v-{bar:.1f}h{column - 24}v{bar:.1f}z", "data", fill=colour_of(peak))
        )
        body.append(_text(x0 + (column - 24) / 2, base - bar - 4, str(peak), cls="value"))
        body.append(_text(x0 + (column - 24) / 2, base + 16, day.strftime("%a %d")))
    if not days:
        body.append(_text(width / 2, base / 2, "no forecast for the coming days", cls="empty"))
    return _svg("forecast", width, height, f"{city.name}: forecast daily peak AQI", body)
