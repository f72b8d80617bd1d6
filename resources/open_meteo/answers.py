"""Open-Meteo answers checked against the request before anything is written.

An answer that lacks a requested variable, has `null` for one, or a series shorter than the
requested days would otherwise become zero or missing bronze rows that replace good ones
(SPEC section 7): each is an error naming the location, the variable and the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson


class OpenMeteoError(RuntimeError):
    """Open-Meteo could not be used; the message says why (never containing a credential)."""


class OpenMeteoResponseError(OpenMeteoError):
    """The response does not have the documented shape, or misses data that was requested."""


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
        matched.append(LocationPayload(key, start, end, source, orjson.dumps(item).decode()))
    return matched
