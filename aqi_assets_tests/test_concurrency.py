"""A one-day refresh launched while a backfill writes the same tables waits for its pools."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from aqi_assets.cli import graphql, launch_backfill, watch
from aqi_assets.tables import FACT_CITY_DAILY, FACT_EPISODE, FACT_HOURLY, SILVER_HOURLY
from aqi_assets_tests.cli_runs import PARTITIONED
from aqi_assets_tests.conftest import make_spark_resource
from aqi_assets_tests.materialize import materialize_range, materialize_reference
from aqi_assets_tests.readback import table_rows
from resources.lakehouse import LakehouseReader

pytestmark = pytest.mark.e2e
BACKFILL = (date(2024, 1, 1), date(2024, 1, 4))
REFRESHED_DAY = "2024-01-04"
TABLES = (SILVER_HOURLY, FACT_HOURLY, FACT_CITY_DAILY, FACT_EPISODE)

REPOSITORY = "query { repositoriesOrError { ... on RepositoryConnection { nodes { name location { name } } } } }"
LAUNCH_RUN = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
  }
}
"""
RUNS = """
query Runs($tag: String!) { runsOrError(filter: {tags: [{key: "dagster/backfill", value: $tag}]}) {
  ... on Runs { results { runId status tags { key value } } } } }
"""
RUN_STATUS = "query Run($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"


def launch_day_run(url: str, day: str) -> str:
    """Launch one run of the partitioned graph for `day`, as the hourly automation does."""
    repo = graphql(url, REPOSITORY)["repositoriesOrError"]["nodes"][0]
    selector = {
        "repositoryLocationName": repo["location"]["name"],
        "repositoryName": repo["name"],
        "jobName": "__ASSET_JOB",
        "assetSelection": [{"path": [key]} for key in PARTITIONED.split(",")],
    }
    params = {
        "selector": selector,
        "mode": "default",
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": day}]},
    }
    result = graphql(url, LAUNCH_RUN, {"params": params})["launchRun"]
    assert result["__typename"] == "LaunchRunSuccess", result
    return result["run"]["runId"]


def wait_for_partitioned_backfill_run(url: str, backfill_id: str, timeout: float = 600) -> str:
    """Id of the backfill's range run once it has started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in graphql(url, RUNS, {"tag": backfill_id})["runsOrError"]["results"]:
            tags = {t["key"] for t in run["tags"]}
            if "dagster/asset_partition_range_start" in tags and run["status"] == "STARTED":
                return run["runId"]
        time.sleep(0.5)
    pytest.fail("the backfill never started its partitioned run")


def wait_for_run(url: str, run_id: str, timeout: float = 900) -> str:
    """Final status of a run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = graphql(url, RUN_STATUS, {"id": run_id})["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            return status
        time.sleep(1)
    pytest.fail(f"run {run_id} did not finish in {timeout}s")


def step_windows(instance: dg.DagsterInstance, run_id: str) -> dict[str, tuple[float, float]]:
    """(start, end) timestamps of each step of a run."""
    events = instance.all_logs(
        run_id, of_type={dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS}
    )
    windows: dict[str, list[float]] = {}
    for event in events:
        windows.setdefault(event.step_key, []).append(event.timestamp)
    return {step: (min(times), max(times)) for step, times in windows.items()}


def test_refresh_during_backfill_waits_for_pools_and_matches_serial(
    dagster_ui, tmp_path: Path, lakehouse_assets, pipeline_resources
) -> None:
    backfill_id = launch_backfill(dagster_ui.url, *BACKFILL, None, title="concurrency")
    backfill_run = wait_for_partitioned_backfill_run(dagster_ui.url, backfill_id)
    refresh_run = launch_day_run(dagster_ui.url, REFRESHED_DAY)

    progress = watch(dagster_ui.url, backfill_id, poll_seconds=1, timeout_seconds=900)
    assert progress.succeeded, progress
    assert wait_for_run(dagster_ui.url, refresh_run) == "SUCCESS"

    instance = dg.DagsterInstance.from_config(str(dagster_ui.home))
    backfill_steps = step_windows(instance, backfill_run)
    refresh_steps = step_windows(instance, refresh_run)
    shared = sorted(set(backfill_steps) & set(refresh_steps))
    assert {"bronze_raw", "fact_hourly"} <= set(shared), shared
    for step in shared:
        (a_start, a_end), (b_start, b_end) = backfill_steps[step], refresh_steps[step]
        assert a_end <= b_start or b_end <= a_start, f"two runs wrote {step} at once"
    refresh_started = instance.get_run_record_by_id(refresh_run).start_time
    backfill_ended = max(end for _, end in backfill_steps.values())
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
