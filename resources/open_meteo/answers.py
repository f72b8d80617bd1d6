"""Open-Meteo answers checked against the request before anything is written.

An answer that lacks a requested variable, has `null` for one, or a series shorter than the
requested days would otherwise become zero or missing bronze rows that replace good ones
(SPEC section 7); one whose hours are not exactly the requested UTC hours (an hour twice,
local hours, unix times, another day's) or whose values are not numbers would land values in
the wrong hour or fail later in Spark. Each is an error naming the location, the first bad hour
or the variable, and the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import orjson

from resources.open_meteo.errors import OpenMeteoError, OpenMeteoResponseError

__all__ = ["LocationPayload", "OpenMeteoError", "OpenMeteoResponseError", "match_items"]

# What a series' values may be: JSON numbers, or null for an hour the model has no value for.
NUMERIC = frozenset({int, float, type(None)})


@dataclass(frozen=True)
class LocationPayload:
    """The API item of one location for one request, kept as its JSON text.

    Text takes a fraction of the memory of parsed lists of floats: 100 locations x 22 months
    are about 130 MB of text, Spark parses it.
    """

    location_key: str
    start_date: date
    end_date: date
    source: str
    body: str

    @property
    def payload(self) -> dict[str, Any]:
        """The item parsed (for inspection; the pipeline hands `body` to Spark)."""
        return orjson.loads(self.body)


def _check_series(
    hourly: dict[str, Any], key: str, variables: Sequence[str], start: date, end: date, source: str
) -> None:
    where = f"'{key}' {start}..{end}"
    for variable in variables:
        if variable not in hourly:
            raise OpenMeteoResponseError(
                f"Open-Meteo's answer for {where} lacks the requested variable '{variable}'; "
                f"nothing was written. Check that the API still serves it. Request: {source}"
            )
        if not isinstance(hourly[variable], list):
            found = "null" if hourly[variable] is None else type(hourly[variable]).__name__
            raise OpenMeteoResponseError(
                f"Open-Meteo's answer for {where} has {found} instead of the hourly series of "
                f"'{variable}'; nothing was written. Request: {source}"
            )
    times = hourly["time"]
    uneven = {v: len(hourly[v]) for v in variables if len(hourly[v]) != len(times)}
    if uneven:
        raise OpenMeteoResponseError(
            f"Hourly arrays of '{key}' differ in length from time ({len(times)}): {uneven}. "
            f"Request: {source}"
        )
    expected = ((end - start).days + 1) * 24
    if len(times) != expected:
        raise OpenMeteoResponseError(
            f"Open-Meteo returned {len(times)} hours for {where}, {expected} were requested "
            f"(variables {', '.join(variables)}); nothing was written. Request: {source}"
        )


def expected_hours(start: date, end: date) -> list[str]:
    """Every hour of days start..end in UTC, as Open-Meteo writes them ("2024-01-01T00:00")."""
    first = datetime(start.year, start.month, start.day)
    count = ((end - start).days + 1) * 24
    return [(first + timedelta(hours=h)).strftime("%Y-%m-%dT%H:00") for h in range(count)]


def _check_hours(
    item: dict[str, Any], hours: list[str], where: str, variables: Sequence[str], source: str
) -> None:
    """UTC, exactly `hours` in order, and numbers or null: list and set comparisons at C speed."""
    offset = item.get("utc_offset_seconds", 0)
    if offset != 0:
        raise OpenMeteoResponseError(
            f"Open-Meteo's answer for {where} is in {item.get('timezone', 'an unnamed zone')} "
            f"(utc_offset_seconds={offset}), not UTC: every value would land {offset / 3600:+g} h "
            f"off; nothing was written. The request asks for timezone=GMT: check that no proxy "
            f"rewrites it. Request: {source}"
        )
    hourly = item["hourly"]
    times = hourly["time"]
    if times != hours:
        first = next(
            i for i, (got, want) in enumerate(zip(times, hours, strict=True)) if got != want
        )
        raise OpenMeteoResponseError(
            f"Open-Meteo's answer for {where} has {times[first]!r} at hour {first}, "
            f"{hours[first]!r} expected (each hour from {hours[0]} to {hours[-1]} UTC once, in "
            f"order); nothing was written. Request: {source}"
        )
    for variable in variables:
        series = hourly[variable]
        if not set(map(type, series)) <= NUMERIC:
            index, value = next((i, v) for i, v in enumerate(series) if type(v) not in NUMERIC)
            raise OpenMeteoResponseError(
                f"Open-Meteo's answer for {where} has a {type(value).__name__} in the series of "
                f"'{variable}' at hour {index} ({value!r}), where numbers or null belong; "
                f"nothing was written. Request: {source}"
            )


def match_items(
    body: Any,
    keys: Sequence[str],
    variables: Sequence[str],
    start: date,
    end: date,
    source: str,
) -> list[LocationPayload]:
    """Pair items with location keys by order / location_id (never by the grid-snapped
    coordinates), each checked to hold every requested variable over every requested hour."""
    items = body if isinstance(body, list) else [body]
    hours = expected_hours(start, end)
    if len(items) != len(keys):
        raise OpenMeteoResponseError(
            f"Open-Meteo returned {len(items)} items for {len(keys)} locations. Request: {source}"
        )
    matched = []
    for index, (item, key) in enumerate(zip(items, keys, strict=True)):
        if not isinstance(item, dict):
            raise OpenMeteoResponseError(f"Item {index} is not a JSON object. Request: {source}")
        if item.get("location_id", 0) != index:
            raise OpenMeteoResponseError(
                f"Item {index} carries location_id {item.get('location_id')}; expected {index}. "
                f"Request: {source}"
            )
        hourly = item.get("hourly")
        if not isinstance(hourly, dict) or not isinstance(hourly.get("time"), list):
            raise OpenMeteoResponseError(
                f"Item for '{key}' has no hourly.time block. Request: {source}"
            )
        if not hourly["time"]:
            raise OpenMeteoResponseError(
                f"Open-Meteo returned no hours for '{key}' {start}..{end}. Request: {source}"
            )
        _check_series(hourly, key, variables, start, end, source)
        _check_hours(item, hours, f"'{key}' {start}..{end}", variables, source)
        matched.append(LocationPayload(key, start, end, source, orjson.dumps(item).decode()))
    return matched
