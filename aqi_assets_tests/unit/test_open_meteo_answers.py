"""Answers checked hour by hour, in UTC, numbers only; bodies read within the deadline and a cap."""

from __future__ import annotations

import time
from datetime import date

import pytest

from aqi_assets.config.reference import load_locations
from resources.open_meteo.client import (
    OpenMeteoDeadlineError,
    OpenMeteoResponseError,
)

FIRST, LAST = date(2024, 1, 1), date(2024, 1, 2)


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (
            {"kind": "repeat_hour", "item": 1},
            "answer for 'danang' 2024-01-01..2024-01-02 has '2024-01-01T00:00' at hour 47, "
            "'2024-01-02T23:00' expected",
        ),
        (
            {"kind": "bad_time", "item": 2, "hour": 5, "text": "2023-12-31T05:00"},
            "answer for 'hcmc' 2024-01-01..2024-01-02 has '2023-12-31T05:00' at hour 5, "
            "'2024-01-01T05:00' expected",
        ),
        (
            {"kind": "bad_time", "hour": 6, "text": "2024-01-01T06:00:00"},
            "has '2024-01-01T06:00:00' at hour 6, '2024-01-01T06:00' expected",
        ),
        (
            {"kind": "unix_time"},
            "answer for 'hanoi' 2024-01-01..2024-01-02 has 1704067200 at hour 0, "
            "'2024-01-01T00:00' expected",
        ),
        (
            {"kind": "local_zone", "item": 1},
            "answer for 'danang' 2024-01-01..2024-01-02 is in Asia/Bangkok "
            "(utc_offset_seconds=25200), not UTC",
        ),
        (
            {"kind": "text_values", "item": 2, "variable": "pm10"},
            "answer for 'hcmc' 2024-01-01..2024-01-02 has a str in the series of 'pm10' "
            "at hour 0 ('n/a')",
        ),
    ],
    ids=["hour-twice", "other-day", "nearly-valid-time", "unix-times", "local-zone", "text"],
)
def test_every_hour_is_checked_in_utc_with_numbers(
    client, open_meteo_server, fault, message
) -> None:
    open_meteo_server.set_faults(fault)
    with pytest.raises(OpenMeteoResponseError, match="nothing was written") as error:
        client.fetch_hourly(load_locations(), FIRST, LAST)
    assert message in str(error.value)
    assert "Request: http://127.0.0.1" in str(error.value)
    assert open_meteo_server.calls == 1, "a wrong answer is not asked for again"


def test_integer_and_null_values_pass(client, open_meteo_server) -> None:
    result = client.fetch_hourly(load_locations(), FIRST, FIRST)
    series = [item.payload["hourly"] for item in result.items]
    assert {type(v) for s in series for v in s["dust"]} <= {float, type(None)}
    assert {type(v) for s in series for v in s["us_aqi"]} <= {int, float}


def test_a_slow_drip_fails_within_the_deadline(client, open_meteo_server) -> None:
    """`requests` times out per socket read: a byte a second never trips a 3 s read timeout."""
    open_meteo_server.set_faults({"kind": "drip", "every": 1.0, "bytes": 12})
    patient = client.model_copy(update={"deadline_seconds": 3.0, "timeout_seconds": 30.0})
    began = time.monotonic()
    with pytest.raises(OpenMeteoDeadlineError, match=r"no answer within the deadline of 3 s"):
        patient.fetch_hourly(load_locations()[:1], FIRST, FIRST)
    assert time.monotonic() - began < 3.0 + 1.5
    assert open_meteo_server.calls == 1


def test_an_oversized_answer_fails_naming_the_cap(client, open_meteo_server) -> None:
    open_meteo_server.set_faults({"kind": "oversized", "bytes": 3_000_000})
    with pytest.raises(OpenMeteoResponseError) as error:
        client.fetch_hourly(load_locations()[:1], FIRST, FIRST)
    text = str(error.value)
    assert "larger than the cap of" in text
    assert "1 locations x 24 hours x 11 variables" in text
    assert "nothing was written" in text
    assert open_meteo_server.calls == 1
