"""The Open-Meteo client against the local server: batching, retries, errors, matching by order."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
import requests

from aqi_assets.reference import Location, load_locations
from resources.open_meteo import OpenMeteoAPIError, OpenMeteoError, OpenMeteoResource, date_chunks

FIRST, LAST = date(2024, 1, 1), date(2025, 10, 16)


@pytest.fixture
def client(open_meteo_server) -> OpenMeteoResource:
    open_meteo_server.clear_faults()
    open_meteo_server.reset_counters()
    return OpenMeteoResource(
        base_url=open_meteo_server.base_url, backoff_factor=0.01, max_retries=3
    )


def grid(n: int) -> list[Location]:
    return [Location(f"loc{i}", f"Loc {i}", 8 + i * 0.3, 100 + i * 0.25) for i in range(n)]


def test_22_months_of_3_cities_cost_a_handful_of_calls(client, open_meteo_server) -> None:
    result = client.fetch_hourly(load_locations(), FIRST, LAST)
    days = (LAST - FIRST).days + 1
    assert result.api_calls == open_meteo_server.calls == 8
    hours: dict[str, list[str]] = {}
    for item in result.items:
        hours.setdefault(item.location_key, []).extend(item.payload["hourly"]["time"])
    assert set(hours) == {"hanoi", "danang", "hcmc"}
    for series in hours.values():
        assert len(series) == len(set(series)) == days * 24, "every hour exactly once"
        assert series[0] == "2024-01-01T00:00"
        assert series[-1] == "2025-10-16T23:00"


def test_100_locations_are_split_into_location_batches(client, open_meteo_server) -> None:
    result = client.fetch_hourly(grid(100), date(2024, 1, 1), date(2024, 1, 2))
    assert result.api_calls == 2
    assert [i.location_key for i in result.items] == [f"loc{i}" for i in range(100)]


def test_date_chunks_cover_each_day_once() -> None:
    chunks = list(date_chunks(FIRST, LAST, 92))
    assert chunks[0][0] == FIRST
    assert chunks[-1][1] == LAST
    for (_, end), (start, _) in itertools.pairwise(chunks):
        assert start == end + timedelta(days=1)
    assert all((end - start).days < 92 for start, end in chunks)


def test_items_are_matched_by_order_not_by_snapped_coordinates(client) -> None:
    cities = load_locations()
    result = client.fetch_hourly(cities, date(2024, 1, 1), date(2024, 1, 1))
    for city, item in zip(cities, result.items, strict=True):
        assert item.location_key == city.key
        assert (item.payload["latitude"], item.payload["longitude"]) != (
            city.latitude,
            city.longitude,
        )
    assert [i.payload.get("location_id", 0) for i in result.items] == [0, 1, 2]


def test_429_with_retry_after_then_success(client, open_meteo_server) -> None:
    open_meteo_server.set_faults({"kind": "status", "status": 429, "retry_after": 1})
    result = client.fetch_hourly(load_locations(), date(2024, 1, 1), date(2024, 1, 1))
    assert result.api_calls == 2
    assert len(result.items) == 3


def test_persistent_500_gives_up_with_the_status(client, open_meteo_server) -> None:
    open_meteo_server.set_faults({"kind": "status", "status": 500}, permanent=True)
    with pytest.raises(
        OpenMeteoAPIError, match=r"still answered HTTP 500 after 3 retries: Internal server error"
    ) as error:
        client.fetch_hourly(load_locations(), date(2024, 1, 1), date(2024, 1, 1))
    assert error.value.status_code == 500
    assert open_meteo_server.calls == 4


def test_400_carries_the_api_reason(client) -> None:
    with pytest.raises(OpenMeteoAPIError) as error:
        client.fetch_hourly(load_locations(), date(2021, 1, 1), date(2021, 1, 2))
    assert error.value.status_code == 400
    assert "Parameter 'start_date' is out of allowed range from 2022-08-01" in error.value.reason
    assert "start_date=2021-01-01" in str(error.value)


def test_unreachable_server_says_so() -> None:
    client = OpenMeteoResource(base_url="http://127.0.0.1:9", backoff_factor=0.01, max_retries=1)
    with pytest.raises(OpenMeteoError, match="unreachable after 2 attempts"):
        client.fetch_hourly(load_locations(), date(2024, 1, 1), date(2024, 1, 1))


def test_server_answers_in_open_meteo_format(open_meteo_server) -> None:
    params = {
        "latitude": "21.0285",
        "longitude": "105.8542",
        "hourly": "pm2_5,dust,uv_index",
        "start_date": "2024-01-01",
        "end_date": "2024-01-01",
        "timezone": "GMT",
    }
    body = requests.get(
        f"{open_meteo_server.base_url}/v1/air-quality", params=params, timeout=5
    ).json()
    assert isinstance(body, dict), "one location: an object, not a list"
    assert body["hourly_units"]["pm2_5"] == "\u03bcg/m\u00b3"
    assert body["timezone"] == "GMT"
    assert body["utc_offset_seconds"] == 0
    assert len(body["hourly"]["time"]) == 24
    assert body["hourly"]["time"][0] == "2024-01-01T00:00"
    again = requests.get(
        f"{open_meteo_server.base_url}/v1/air-quality", params=params, timeout=5
    ).json()
    assert again["hourly"] == body["hourly"], "deterministic"
    bad = requests.get(
        f"{open_meteo_server.base_url}/v1/air-quality",
        params={**params, "hourly": "pm3"},
        timeout=5,
    )
    assert bad.status_code == 400
    assert bad.json()["error"] is True
