"""A one-day refresh launched while a backfill writes the same tables waits for its pools."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from aqi_assets.catalog.registry import (
    BRONZE_RAW,
    FACT_CITY_DAILY,
    FACT_EPISODE,
    FACT_HOURLY,
    PARTITIONED_ASSETS,
    SILVER_HOURLY,
)
from aqi_assets.cli.backfill import launch_backfill
from aqi_assets.cli.graphql_queries import DagsterApi
from aqi_assets.cli.progress import watch
from aqi_assets.compat.event_log_compat import BATCH_SIZE_VARIABLE, DEFAULT_BATCH_SIZE
from aqi_assets.dev.dagster_dev import launch_partition_run, wait_for_run
from aqi_assets_tests.conftest import make_spark_resource
from aqi_assets_tests.materialize import materialize_range, materialize_reference
from aqi_assets_tests.readback import table_rows
from resources.iceberg.lakehouse_reader import LakehouseReader
from resources.spark.run_tags import RANGE_START_TAG

pytestmark = pytest.mark.e2e

BACKFILL = (date(2024, 1, 1), date(2024, 1, 4))
REFRESHED_DAY = "2024-01-04"
TABLES = (SILVER_HOURLY, FACT_HOURLY, FACT_CITY_DAILY, FACT_EPISODE)


def wait_for_partitioned_backfill_run(
    api: DagsterApi, backfill_id: str, timeout: float = 600
) -> None:
    """Return once one of the backfill's range runs has started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in api.runs(backfill_id):
            if RANGE_START_TAG in run.tags and run.status == "STARTED":
                return
        time.sleep(0.5)
    pytest.fail("the backfill never started its partitioned run")


def step_windows(instance: dg.DagsterInstance, run_ids: list[str]) -> dict[str, list[tuple]]:
    """(start, end) timestamps of each step, per run, over the given runs."""
    windows: dict[str, list[tuple[float, float]]] = {}
    for run_id in run_ids:
        events = instance.all_logs(
            run_id, of_type={dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS}
        )
        times: dict[str, list[float]] = {}
        for event in events:
            times.setdefault(event.step_key, []).append(event.timestamp)
        for step, stamps in times.items():
            windows.setdefault(step, []).append((min(stamps), max(stamps)))
    return windows


def backfill_runs(api: DagsterApi, backfill_id: str) -> list[str]:
    """Ids of every run the backfill launched."""
    return [run.run_id for run in api.runs(backfill_id)]


def test_refresh_during_backfill_waits_for_pools_and_matches_serial(
    dagster_ui,
    tmp_path: Path,
    lakehouse_assets,
    pipeline_resources,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = DagsterApi(dagster_ui.url)
    backfill_id = launch_backfill(api, *BACKFILL, None, title="concurrency")
    wait_for_partitioned_backfill_run(api, backfill_id)
    refresh_run = launch_partition_run(dagster_ui.url, REFRESHED_DAY, list(PARTITIONED_ASSETS))

    progress = watch(api, backfill_id, poll_seconds=1, timeout_seconds=900)
    assert progress.succeeded, progress
    assert wait_for_run(dagster_ui.url, refresh_run) == "SUCCESS"

    monkeypatch.setenv("DAGSTER_HOME", str(dagster_ui.home))  # the event log's default base_dir
    monkeypatch.setenv(BATCH_SIZE_VARIABLE, DEFAULT_BATCH_SIZE)  # restored after the test
    instance = dg.DagsterInstance.from_config(str(dagster_ui.home))
    backfill_steps = step_windows(instance, backfill_runs(api, backfill_id))
    refresh_steps = step_windows(instance, [refresh_run])
    shared = sorted(set(backfill_steps) & set(refresh_steps))
    step_of = {key: a.node_def.name for a in lakehouse_assets for key in a.keys}
    assert {step_of[BRONZE_RAW.key], step_of[FACT_HOURLY.key]} <= set(shared), shared
    for step in shared:
        for a_start, a_end in backfill_steps[step]:
            for b_start, b_end in refresh_steps[step]:
                assert a_end <= b_start or b_end <= a_start, f"two runs wrote {step} at once"
    refresh_started = instance.get_run_record_by_id(refresh_run).start_time
    backfill_ended = max(end for windows in backfill_steps.values() for _, end in windows)
    assert refresh_started < backfill_ended, "the refresh started while the backfill was writing"

    serial = tmp_path / "serial"
    resources = {
        **pipeline_resources,
        "spark": make_spark_resource(serial, catalog_name="serial"),
        "lakehouse": LakehouseReader(warehouse=serial.as_uri()),
    }
    materialize_reference(lakehouse_assets, resources)
    materialize_range(lakehouse_assets, *BACKFILL, resources)
    day = date.fromisoformat(REFRESHED_DAY)
    materialize_range(lakehouse_assets, day, day, resources)
    for table in TABLES:
        assert table_rows(dagster_ui.warehouse, table) == table_rows(serial, table), table
