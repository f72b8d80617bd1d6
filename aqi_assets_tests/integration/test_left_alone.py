"""Left alone from empty, at any hour: the sensor's one run per refresh builds everything.

A fresh instance with the default automation and nothing launched by hand: the
`ingest_open_days` sensor and the `hourly_refresh` conditions are evaluated tick by tick on a
clock (13:40 UTC, far from any cron), every requested run executes in-process, until quiet.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from aqi_assets.catalog.registry import DIM_LOCATION, FACT_HOURLY, PARTITIONED_ASSETS, TABLES
from aqi_assets.config.pipeline_config import PipelineConfig
from aqi_assets.definitions import build_assets
from aqi_assets.dev.local_open_meteo import LocalOpenMeteo
from aqi_assets.ingest.open_days_sensor import SENSOR_NAME, open_days_sensor
from aqi_assets.orchestration.automation import with_automation
from aqi_assets.orchestration.jobs import REFRESH_JOB, lakehouse_job, refresh_job
from aqi_assets.orchestration.partitions import daily_partitions
from aqi_assets.report.asset import REPORT_KEY
from aqi_assets_tests.clocked import LOCATIONS, table
from aqi_assets_tests.open_meteo_client import open_meteo_client
from resources.spark.run_tags import RANGE_END_TAG, RANGE_START_TAG

START = datetime(2026, 3, 10, 13, 40, tzinfo=UTC)  # not 00:15: no cron helps
TODAY, YESTERDAY = date(2026, 3, 10), date(2026, 3, 9)
NEW_CITY = {
    "location_key": "danang",
    "location_name": "Da Nang",
    "latitude": 16.0544,
    "longitude": 108.2022,
    "time_zone": "Asia/Ho_Chi_Minh",
}
ALL_KEYS = [*(t.key for t in TABLES), REPORT_KEY]


class LeftAlone:
    """The instance, the code location and both automations, ticked on a clock."""

    def __init__(self, instance, defs: dg.Definitions, server: LocalOpenMeteo) -> None:
        self.instance, self.defs, self.server = instance, defs, server
        self.now = START
        self.sensor = open_days_sensor(running=True, clock=lambda: self.now)
        self.sensor_cursor: str | None = None
        self.automation: dg.EvaluateAutomationConditionsResult | None = None
        self.sensor_runs: list[str] = []
        self.automation_runs: list[str] = []

    def execute(self, keys, tags: dict[str, str]) -> str:
        job = self.defs.resolve_job_def(REFRESH_JOB)
        done = job.execute_in_process(instance=self.instance, asset_selection=keys, tags=tags)
        return done.run_id

    def tick_sensor(self) -> None:
        self.server.clock.set(self.now)
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.sensor_cursor,
            resources={"open_meteo": open_meteo_client(self.server.base_url)},
        )
        result = self.sensor(context)
        self.sensor_cursor = result.cursor
        for request in result.run_requests or []:
            assert request.job_name == REFRESH_JOB
            tags = {**request.tags, "dagster/sensor_name": SENSOR_NAME}
            self.sensor_runs.append(self.execute(request.asset_selection, tags))

    def tick_automation(self) -> int:
        """One `hourly_refresh` tick; executes what it requests and returns how many partitions."""
        self.automation = dg.evaluate_automation_conditions(
            defs=self.defs,
            instance=self.instance,
            evaluation_time=self.now,
            cursor=self.automation.cursor if self.automation else None,
        )
        requested = {
            key: self.automation.get_requested_partitions(key)
            for key in ALL_KEYS
            if self.automation.get_num_requested(key)
        }
        if requested:
            days = sorted(p for parts in requested.values() for p in parts if p)
            tags = {RANGE_START_TAG: days[0], RANGE_END_TAG: days[-1]} if days else {}
            self.automation_runs.append(self.execute(list(requested), tags))
        return self.automation.total_requested

    def until_quiet(self, minutes: int = 3) -> None:
        """Tick both automations once a minute until a tick requests nothing."""
        for _ in range(minutes):
            runs = len(self.sensor_runs)
            requested = self.tick_automation()
            self.tick_sensor()
            if not requested and len(self.sensor_runs) == runs:
                return
            self.now += timedelta(minutes=1)
        raise AssertionError("still requesting runs")


@pytest.fixture
def left_alone(pipeline_resources, tmp_path: Path, monkeypatch):
    """A fresh instance and the code location on the local server, its clock at START."""
    monkeypatch.setenv("AQI_HOME", str(tmp_path))  # the report's page goes under tmp_path
    locations = tmp_path / "locations.json"
    locations.write_text(json.dumps(LOCATIONS))
    with LocalOpenMeteo(now=START) as server, dg.instance_for_test() as instance:
        resources = {
            **pipeline_resources,
            "open_meteo": open_meteo_client(server.base_url, backoff_factor=0.01),
            "pipeline": PipelineConfig(locations_path=str(locations)),
        }
        defs = dg.Definitions(
            assets=with_automation(build_assets(daily_partitions(date(2024, 1, 1)))),
            jobs=[lakehouse_job(), refresh_job()],
            resources=resources,
        )
        yield LeftAlone(instance, defs, server), resources, locations


def materializations(instance, run_id: str) -> dict[dg.AssetKey, list[int]]:
    """Storage ids of each asset's materializations in run `run_id`."""
    found: dict[dg.AssetKey, list[int]] = {}
    for key in ALL_KEYS:
        records = instance.fetch_materializations(key, limit=100).records
        ids = [r.storage_id for r in records if r.run_id == run_id]
        if ids:
            found[key] = ids
    return found


def partitions_built(instance, key: dg.AssetKey) -> set[str | None]:
    records = instance.fetch_materializations(key, limit=100).records
    return {r.partition_key for r in records}


def test_from_empty_one_run_builds_every_table_then_the_report(left_alone, spark) -> None:
    alone, resources, locations = left_alone
    alone.until_quiet()
    # One refresh, one run: yesterday (a new deployment's first night) and today.
    assert len(alone.sensor_runs) == 1
    assert alone.automation_runs == []
    run = alone.instance.get_run_by_id(alone.sensor_runs[0])
    assert (run.tags[RANGE_START_TAG], run.tags[RANGE_END_TAG]) == ("2026-03-09", "2026-03-10")
    done = materializations(alone.instance, run.run_id)
    assert set(done) == set(ALL_KEYS), "every table, the dimensions and the report"
    for name in PARTITIONED_ASSETS:
        assert partitions_built(alone.instance, dg.AssetKey(name)) == {
            YESTERDAY.isoformat(),
            TODAY.isoformat(),
        }, name
    # The report follows every gold table of the refresh in the event log.
    gold = max(i for key, ids in done.items() if key != REPORT_KEY for i in ids)
    assert min(done[REPORT_KEY]) > gold
    assert (Path(resources["pipeline"].locations_path).parent / "reports").is_dir()

    # The automation's next ticks see the refresh as handled: nothing requested.
    alone.now += timedelta(minutes=5)
    assert alone.tick_automation() == 0

    # A city added to the locations file: the next refresh (14:05) carries it, no manual step.
    locations.write_text(json.dumps([*LOCATIONS, NEW_CITY]))
    alone.now = datetime(2026, 3, 10, 14, 5, tzinfo=UTC)
    alone.until_quiet()
    assert len(alone.sensor_runs) == 2
    assert alone.automation_runs == []
    second = alone.instance.get_run_by_id(alone.sensor_runs[1])
    # Yesterday was fetched from today's 00Z run at 13:40: final, so only today is refreshed.
    assert (second.tags[RANGE_START_TAG], second.tags[RANGE_END_TAG]) == ("2026-03-10",) * 2
    assert REPORT_KEY in materializations(alone.instance, second.run_id)
    dims = {r["location_key"] for r in table(spark, resources, DIM_LOCATION).collect()}
    assert NEW_CITY["location_key"] in dims
    hours = table(spark, resources, FACT_HOURLY).where("location_key = 'danang'")
    assert {r["ts_utc"].date() for r in hours.collect()} == {TODAY}
