"""The hourly ingest requests today plus every day not final yet, from the instance and meta.json."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest

from aqi_assets.catalog.registry import BRONZE_RAW, FACT_AQI_FORECAST
from aqi_assets.dev.local_open_meteo import LocalOpenMeteo
from aqi_assets.ingest.open_days_sensor import (
    MODEL_RUN_ENTRY,
    MODEL_RUN_TAG,
    UNKNOWN_RUN,
    Cursor,
    open_days_sensor,
    run_ranges,
)
from aqi_assets.orchestration.jobs import REFRESH_JOB, refresh_selection
from aqi_assets.report.asset import REPORT_KEY
from aqi_assets_tests.open_meteo_client import open_meteo_client
from resources.spark.run_tags import RANGE_END_TAG, RANGE_START_TAG

TODAY, YESTERDAY = date(2026, 3, 10), date(2026, 3, 9)
RUN_12Z = datetime(2026, 3, 9, 12, tzinfo=UTC)  # available 2026-03-09 22:00
RUN_00Z = datetime(2026, 3, 10, 0, tzinfo=UTC)  # available 2026-03-10 10:00


def at(hour: int, minute: int) -> datetime:
    return datetime(2026, 3, 10, hour, minute, tzinfo=UTC)


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def server():
    with LocalOpenMeteo(now=at(9, 30)) as server:
        yield server


def fetched(instance: dg.DagsterInstance, day: date, run: datetime | None) -> None:
    """bronze_raw's partition `day` was materialized from `run` (None: meta.json unreadable)."""
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key=BRONZE_RAW.key,
            partition=day.isoformat(),
            metadata={MODEL_RUN_ENTRY: run.isoformat() if run else UNKNOWN_RUN},
        )
    )


class Tick:
    """Evaluates the real sensor against the instance and the local server, at a chosen time."""

    def __init__(self, instance: dg.DagsterInstance, server: LocalOpenMeteo) -> None:
        self.instance, self.server, self.cursor = instance, server, None
        self.now = at(9, 30)
        self.warnings: list[str] = []

    def __call__(self, now: datetime) -> list[dg.RunRequest]:
        self.now = now
        self.server.clock.set(now)
        sensor = open_days_sensor(running=True, clock=lambda: self.now)
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            resources={"open_meteo": open_meteo_client(base_url=self.server.base_url)},
        )
        collect = logging.Handler(logging.WARNING)
        collect.emit = lambda record: self.warnings.append(record.getMessage())
        context.log.addHandler(collect)
        result = sensor(context)
        self.cursor = result.cursor
        return list(result.run_requests or [])


@pytest.fixture
def tick(instance, server) -> Tick:
    return Tick(instance, server)


def days(requests: list[dg.RunRequest]) -> list[tuple[str, str]]:
    return [(r.tags[RANGE_START_TAG], r.tags[RANGE_END_TAG]) for r in requests]


def test_yesterday_is_refreshed_until_fetched_from_the_next_days_00z_run(instance, tick) -> None:
    fetched(instance, YESTERDAY - timedelta(days=1), RUN_12Z)  # final before
    fetched(instance, YESTERDAY, RUN_12Z)
    first = tick(at(9, 30))
    assert days(first) == [(YESTERDAY.isoformat(), TODAY.isoformat())]
    # One run per refresh: bronze to every gold table, the forecast, the report.
    assert first[0].job_name == REFRESH_JOB
    assert first[0].asset_selection == refresh_selection(ends_today=True)
    assert {BRONZE_RAW.key, FACT_AQI_FORECAST.key, REPORT_KEY} <= set(first[0].asset_selection)
    assert first[0].tags[MODEL_RUN_TAG] == RUN_12Z.isoformat()
    assert tick(at(9, 40)) == [], "nothing new: same hour, same model run"
    # 10:00: the 00Z run is out, so the answers changed: refresh at once.
    new_run = tick(at(10, 1))
    assert days(new_run) == [(YESTERDAY.isoformat(), TODAY.isoformat())]
    assert new_run[0].tags[MODEL_RUN_TAG] == RUN_00Z.isoformat()
    fetched(instance, YESTERDAY, RUN_00Z)
    assert days(tick(at(11, 5))) == [(TODAY.isoformat(), TODAY.isoformat())]


def test_an_older_day_still_open_is_refreshed_in_its_own_range(instance, tick) -> None:
    three_days_ago = TODAY - timedelta(days=3)
    fetched(instance, three_days_ago, datetime(2026, 3, 7, 0, tzinfo=UTC))
    fetched(instance, YESTERDAY, RUN_00Z)
    fetched(instance, TODAY - timedelta(days=2), RUN_00Z)
    requests = tick(at(10, 30))
    # The older day's run also covers the next day: its local day spans both UTC days.
    assert days(requests) == [
        (three_days_ago.isoformat(), (three_days_ago + timedelta(days=1)).isoformat()),
        (TODAY.isoformat(), TODAY.isoformat()),
    ]
    older, today = requests
    assert older.asset_selection == refresh_selection(ends_today=False)
    assert FACT_AQI_FORECAST.key not in older.asset_selection
    assert REPORT_KEY not in older.asset_selection
    assert REPORT_KEY in today.asset_selection


def test_open_days_one_day_apart_merge_into_one_run() -> None:
    """Extended by their next day, ranges that touch are one run; today's is never extended."""
    d = TODAY
    assert run_ranges([d - timedelta(days=3), d - timedelta(days=1), d], d) == [
        (d - timedelta(days=3), d)
    ]
    assert run_ranges([d - timedelta(days=5), d], d) == [
        (d - timedelta(days=5), d - timedelta(days=4)),
        (d, d),
    ]
    assert run_ranges([d], d) == [(d, d)]


def test_without_meta_json_today_and_yesterday_with_one_warning(instance, tick, server) -> None:
    fetched(instance, YESTERDAY, RUN_00Z)  # final, but finality cannot be trusted blind
    server.meta_available = False
    assert days(tick(at(11, 5))) == [(YESTERDAY.isoformat(), TODAY.isoformat())]
    assert days(tick(at(12, 5))) == [(YESTERDAY.isoformat(), TODAY.isoformat())]
    assert len([w for w in tick.warnings if "meta.json" in w]) == 1
    server.meta_available = True
    assert days(tick(at(12, 10))) == [(TODAY.isoformat(), TODAY.isoformat())]


def test_a_day_fetched_without_a_known_run_stays_open_only_as_yesterday(instance, tick) -> None:
    fetched(instance, TODAY - timedelta(days=2), None)
    fetched(instance, YESTERDAY, None)
    assert days(tick(at(11, 5))) == [(YESTERDAY.isoformat(), TODAY.isoformat())]


def test_cursor_survives_garbage() -> None:
    assert Cursor.parse("not json") == Cursor()
    assert Cursor.parse(Cursor("2026-03-10T09", "x", True).dump()) == Cursor(
        "2026-03-10T09", "x", True
    )
