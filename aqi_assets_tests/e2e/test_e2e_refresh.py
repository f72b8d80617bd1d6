"""End to end: `dagster dev` with its sensors on, the local server's clock across a model run.

From an empty instance, nothing launched by hand: each refresh is ONE sensor run that builds
every table and the report, and the `hourly_refresh` automation launches nothing for it.
Yesterday is refreshed while it is not final; once the next day's 00Z run is out the sensor
refreshes it again (the answers changed), the city-day turns final, and yesterday is left alone
after that.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from aqi_assets.catalog.registry import FACT_CITY_DAILY, SILVER_HOURLY, TABLES
from aqi_assets.cli.graphql_queries import DagsterApi, RunInfo
from aqi_assets.dev.dagster_dev import DagsterDev, wait_for_run
from aqi_assets.dev.local_open_meteo import LocalOpenMeteo
from aqi_assets.ingest.open_days_sensor import MODEL_RUN_TAG, SENSOR_NAME
from aqi_assets.orchestration.automation import refresh_sensor
from aqi_assets.orchestration.jobs import REFRESH_JOB
from aqi_assets.report.asset import AIR_QUALITY_REPORT
from resources.iceberg.lakehouse_reader import LakehouseReader
from resources.spark.run_tags import RANGE_END_TAG, RANGE_START_TAG

pytestmark = pytest.mark.e2e
SENSOR_TAG = "dagster/sensor_name"
AUTOMATION = refresh_sensor(running=True).name
TODAY = datetime.now(UTC).date()
YESTERDAY = TODAY - timedelta(days=1)


def clock(hour: int, minute: int) -> datetime:
    """An instant of today (UTC) for the local server's clock."""
    return datetime.combine(TODAY, datetime.min.time(), UTC) + timedelta(hours=hour, minutes=minute)


def wait_until(what: str, check: Callable[[], object], ui: DagsterDev, timeout: float = 900):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(2)
    raise AssertionError(f"{what} did not happen in {timeout:.0f} s: {ui.log_tail()}")


def model_run(hours_after_today: int) -> datetime:
    """A CAMS model run's initialisation, in hours from today 00Z (-12: yesterday's 12Z)."""
    return clock(0, 0) + timedelta(hours=hours_after_today)


def sensor_runs(api: DagsterApi, served: datetime) -> list[RunInfo]:
    """Runs the ingest sensor launched while `served` was the latest model run, oldest first."""
    runs = [
        r
        for r in api.runs()
        if r.tags.get(SENSOR_TAG) == SENSOR_NAME and r.tags.get(MODEL_RUN_TAG) == served.isoformat()
    ]
    return sorted(runs, key=lambda r: r.start_time or float("inf"))


def first_run_for(what: str, served: datetime, api: DagsterApi, ui: DagsterDev) -> RunInfo:
    """The sensor's first run for model run `served`, once launched.

    Picked by model run, not by position: the sensor's hourly ticks (on the real clock, at
    minute 5) may add runs at any moment of the test.
    """
    return wait_until(what, lambda: sensor_runs(api, served), ui)[0]


def automation_builds(api: DagsterApi, ui: DagsterDev) -> set[tuple[str, str | None]]:
    """What runs of the `hourly_refresh` automation materialized, once they ended (its
    freshness-check runs every 15 minutes materialize nothing)."""
    runs = [r for r in api.runs() if r.tags.get(SENSOR_TAG) == AUTOMATION]
    for run in runs:
        wait_for_run(ui.url, run.run_id)
    return {built for run in runs for built in api.run_materializations(run.run_id)}


def one_run_builds_everything(run: RunInfo, api: DagsterApi, ui: DagsterDev) -> None:
    """The refresh's one run succeeded with every table and the report; no other run followed."""
    assert run.job_name == REFRESH_JOB
    assert wait_for_run(ui.url, run.run_id) == "SUCCESS"
    built = {asset for asset, _ in api.run_materializations(run.run_id)}
    assert built == {*(t.asset for t in TABLES), AIR_QUALITY_REPORT}
    time.sleep(75)  # the automation ticks every 30 s: give it two ticks after the run
    assert automation_builds(api, ui) == set(), "the automation rebuilt after the refresh"


def span(run: RunInfo) -> tuple[str, str]:
    return run.tags[RANGE_START_TAG], run.tags[RANGE_END_TAG]


def city_day(reader: LakehouseReader, day: date) -> list[dict]:
    if not reader.table_exists(*FACT_CITY_DAILY.table):
        return []
    rows = reader.read_arrow(*FACT_CITY_DAILY.table).to_pylist()
    return [r for r in rows if r["date_utc"] == day]


@pytest.fixture
def automation(tmp_path: Path) -> Iterator[tuple[DagsterDev, LocalOpenMeteo, Path]]:
    """`dagster dev` with automation on, reading a local server whose clock is today 09:30."""
    warehouse = tmp_path / "warehouse"
    with LocalOpenMeteo(now=clock(9, 30)) as server:
        env = {
            "AQI_WAREHOUSE": warehouse.as_uri(),
            "AQI_OPEN_METEO_URL": server.base_url,
            "AQI_AUTOMATION": "on",
            "AQI_SPARK_UI": "off",
        }
        with DagsterDev(tmp_path, env) as ui:
            yield ui, server, warehouse


def test_yesterday_is_refreshed_until_final_then_left_alone(automation) -> None:
    ui, server, warehouse = automation
    api = DagsterApi(ui.url)
    reader = LakehouseReader(warehouse=warehouse.as_uri())
    # Nothing launched by hand: the first refresh builds every table, dimensions included.
    first = first_run_for("the first ingest", model_run(-12), api, ui)
    assert span(first) == (YESTERDAY.isoformat(), TODAY.isoformat())
    one_run_builds_everything(first, api, ui)
    open_day = wait_until("yesterday's city-days", lambda: city_day(reader, YESTERDAY), ui)
    assert {r["is_final"] for r in open_day} == {False}
    silver = reader.read_arrow(*SILVER_HOURLY.table).to_pylist()
    today_hours = [r for r in silver if r["ts_utc"].date() == TODAY]
    assert {r["is_forecast"] for r in today_hours if r["ts_utc"].hour >= 10} == {True}
    assert {r["is_forecast"] for r in today_hours if r["ts_utc"].hour < 10} == {False}

    # 10:30: the 00Z run is out; the sensor refreshes yesterday at once, and it turns final.
    server.clock.set(clock(10, 30))
    second = first_run_for("the refresh for the 00Z run", model_run(0), api, ui)
    assert span(second) == (YESTERDAY.isoformat(), TODAY.isoformat())
    one_run_builds_everything(second, api, ui)
    wait_until(
        "yesterday final",
        lambda: {r["is_final"] for r in city_day(reader, YESTERDAY)} == {True},
        ui,
    )

    # 22:30: the 12Z run is out; yesterday is final, so only today is fetched.
    server.clock.set(clock(22, 30))
    third = first_run_for("the refresh for the 12Z run", model_run(12), api, ui)
    assert span(third) == (TODAY.isoformat(), TODAY.isoformat())
    one_run_builds_everything(third, api, ui)
