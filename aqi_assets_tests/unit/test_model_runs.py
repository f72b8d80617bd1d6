"""The local server's model clock and the client's view of it: meta.json, forecast hours, revisions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from aqi_assets.dev.local_open_meteo import LocalOpenMeteo
from aqi_assets_tests.open_meteo_client import open_meteo_client
from resources.open_meteo.model_run import ModelRun, is_final, read_model_run

BEFORE_RUN = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)  # 00Z run not yet available
AFTER_RUN = datetime(2026, 3, 10, 10, 30, tzinfo=UTC)  # 00Z run available since 10:00
TODAY, YESTERDAY = date(2026, 3, 10), date(2026, 3, 9)


class Place:
    key, latitude, longitude = "hanoi", 21.0285, 105.8542


@pytest.fixture
def server():
    with LocalOpenMeteo(now=BEFORE_RUN) as server:
        yield server


def pm25_by_hour(server: LocalOpenMeteo, first: date, last: date) -> tuple[dict, datetime]:
    client = open_meteo_client(base_url=server.base_url, hourly_variables=["pm2_5"])
    [answer] = client.fetch_requests([Place()], first, last)
    hourly = answer.items[0].payload["hourly"]
    return dict(zip(hourly["time"], hourly["pm2_5"], strict=True)), answer.fetched_at


def test_meta_json_announces_runs_at_00z_and_12z_ten_hours_later(server) -> None:
    assert read_model_run(server.base_url) == ModelRun(
        datetime(2026, 3, 9, 12, tzinfo=UTC), datetime(2026, 3, 9, 22, tzinfo=UTC)
    )
    server.clock.set(AFTER_RUN)
    assert read_model_run(server.base_url) == ModelRun(
        datetime(2026, 3, 10, 0, tzinfo=UTC), datetime(2026, 3, 10, 10, tzinfo=UTC)
    )


def test_meta_json_missing_reads_as_none(server) -> None:
    server.meta_available = False
    assert read_model_run(server.base_url) is None
    assert read_model_run("http://127.0.0.1:9") is None


def test_hours_after_the_clock_are_forecast_values_up_to_the_runs_horizon(server) -> None:
    values, fetched_at = pm25_by_hour(server, TODAY, TODAY + timedelta(days=5))
    assert fetched_at == BEFORE_RUN
    future = [v for t, v in values.items() if "2026-03-10T09:30" < t <= "2026-03-14T12:00"]
    assert len(future) == 99
    assert all(v is not None for v in future)
    # The 12Z run of the 9th reaches 120 h ahead: 2026-03-14T12:00 is its last hour.
    assert values["2026-03-14T12:00"] is not None
    assert values["2026-03-14T13:00"] is None


def test_a_newer_run_revises_the_hours_it_covers_and_leaves_final_ones(server) -> None:
    before, _ = pm25_by_hour(server, YESTERDAY - timedelta(days=1), TODAY)
    server.clock.set(AFTER_RUN)
    after, _ = pm25_by_hour(server, YESTERDAY - timedelta(days=1), TODAY)
    changed = sorted(t for t in before if before[t] != after[t])
    # Hours after the 12Z run's start changed; the ones up to it were final already.
    assert changed
    assert changed[0] > "2026-03-09T12:00"
    assert all(before[t] == after[t] for t in before if t <= "2026-03-09T12:00")
    server.clock.set(AFTER_RUN + timedelta(hours=1))
    same_run, _ = pm25_by_hour(server, YESTERDAY - timedelta(days=1), TODAY)
    assert same_run == after


def test_a_day_is_final_from_the_next_days_00z_run() -> None:
    assert not is_final(YESTERDAY, datetime(2026, 3, 9, 12, tzinfo=UTC))
    assert is_final(YESTERDAY, datetime(2026, 3, 10, 0, tzinfo=UTC))
    assert not is_final(YESTERDAY, None)
