"""The Open-Meteo client against the local server: batching, retries, deadlines, errors, matching
by order, and answers that lack data."""

from __future__ import annotations

import time
from datetime import date

import pytest
import requests

from aqi_assets.config.reference import Location, load_locations
from aqi_assets_tests.open_meteo_client import open_meteo_client
from resources.open_meteo.client import (
    OpenMeteoAPIError,
    OpenMeteoDeadlineError,
    OpenMeteoError,
    OpenMeteoResponseError,
)

FIRST, LAST = date(2024, 1, 1), date(2025, 10, 16)


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


def test_persistent_500_gives_up_counting_the_attempts_made(client, open_meteo_server) -> None:
    open_meteo_server.set_faults({"kind": "status", "status": 500}, permanent=True)
    with pytest.raises(
        OpenMeteoAPIError, match=r"still answered HTTP 500 after 4 attempts: Internal server error"
    ) as error:
        client.fetch_hourly(load_locations(), date(2024, 1, 1), date(2024, 1, 1))
    assert error.value.status_code == 500
    assert error.value.attempts == open_meteo_server.calls == 4, "one retry layer: 1 + 3 retries"


def test_a_server_that_never_answers_fails_at_the_deadline(client, open_meteo_server) -> None:
    open_meteo_server.set_faults({"kind": "hang", "seconds": 20})
    patient = client.model_copy(update={"deadline_seconds": 1.5, "timeout_seconds": 30.0})
    began = time.monotonic()
    with pytest.raises(
        OpenMeteoDeadlineError, match=r"no answer within the deadline of 1.5 s"
    ) as e:
        patient.fetch_hourly(load_locations(), date(2024, 1, 1), date(2024, 1, 1))
    assert time.monotonic() - began < 5, "the read timeout (30 s) is cut to the deadline"
    assert "AQI_OPEN_METEO_DEADLINE" in str(e.value)
    assert "after 1 attempts" in str(e.value)


def test_retry_after_is_capped_by_the_deadline(client, open_meteo_server) -> None:
    open_meteo_server.set_faults({"kind": "status", "status": 503, "retry_after": 600})
    short = client.model_copy(update={"deadline_seconds": 2.0})
    began = time.monotonic()
    with pytest.raises(OpenMeteoDeadlineError, match=r"the next try, in 600 s, would be too late"):
        short.fetch_hourly(load_locations(), date(2024, 1, 1), date(2024, 1, 1))
    assert time.monotonic() - began < 2
    assert open_meteo_server.calls == 1


def test_coordinates_are_sent_in_full(client, open_meteo_server) -> None:
    places = [Location("a", "A", 21.028511, 105.854167), Location("b", "B", 0.00001, -179.99999)]
    client.fetch_hourly(places, date(2024, 1, 1), date(2024, 1, 1))
    [query] = open_meteo_server.requests_log
    assert query["latitude"] == "21.028511,0.00001"
    assert query["longitude"] == "105.854167,-179.99999"


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (
            {"kind": "drop_variable", "item": 1, "variable": "ozone"},
            "answer for 'danang' 2024-01-01..2024-01-02 lacks the requested variable 'ozone'",
        ),
        (
            {"kind": "null_variable", "item": 2, "variable": "dust"},
            "answer for 'hcmc' 2024-01-01..2024-01-02 has null instead of the hourly series of 'dust'",
        ),
        (
            {"kind": "short_series", "hours": 24},
            "returned 24 hours for 'hanoi' 2024-01-01..2024-01-02, 48 were requested",
        ),
    ],
    ids=["missing-variable", "null-variable", "short-series"],
)
def test_answers_lacking_data_are_errors_naming_location_variable_and_request(
    client, open_meteo_server, fault, message
) -> None:
    open_meteo_server.set_faults(fault)
    with pytest.raises(OpenMeteoResponseError, match="nothing was written") as error:
        client.fetch_hourly(load_locations(), date(2024, 1, 1), date(2024, 1, 2))
    assert message in str(error.value)
    assert "Request: http://127.0.0.1" in str(error.value)
    assert "start_date=2024-01-01&end_date=2024-01-02" in str(error.value)


def test_fewer_variables_are_requested_and_checked(client, open_meteo_server) -> None:
    few = client.model_copy(update={"hourly_variables": ["pm2_5", "pm10"]})
    result = few.fetch_hourly(load_locations(), date(2024, 1, 1), date(2024, 1, 1))
    assert open_meteo_server.requests_log[-1]["hourly"] == "pm2_5,pm10"
    assert set(result.items[0].payload["hourly"]) == {"time", "pm2_5", "pm10"}


def test_400_carries_the_api_reason(client) -> None:
    with pytest.raises(OpenMeteoAPIError) as error:
        client.fetch_hourly(load_locations(), date(2021, 1, 1), date(2021, 1, 2))
    assert error.value.status_code == 400
    assert "Parameter 'start_date' is out of allowed range from 2022-08-01" in error.value.reason
    assert "start_date=2021-01-01" in str(error.value)


def test_unreachable_server_says_so() -> None:
    client = open_meteo_client(base_url="http://127.0.0.1:9", backoff_factor=0.01, max_retries=1)
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
