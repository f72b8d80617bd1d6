"""End to end: the Dagster UI + daemon process, `aqi backfill` over GraphQL, tables checked after."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from aqi_assets.catalog.registry import (
    DIM_DATE,
    DIM_LOCATION,
    FACT_CITY_DAILY,
    FACT_EPISODE,
    FACT_HOURLY,
    PARTITIONED_ASSETS,
    REFERENCE_ASSETS,
)
from aqi_assets.cli.backfill import launch_backfill
from aqi_assets.cli.graphql_queries import DagsterApi
from aqi_assets.cli.progress import watch
from aqi_assets.dev.dagster_dev import free_port
from aqi_assets.orchestration.jobs import LAKEHOUSE_JOB
from resources.iceberg.lakehouse_reader import LakehouseReader

pytestmark = pytest.mark.e2e


def aqi_backfill(url: str, *extra: str, timeout: float) -> subprocess.CompletedProcess:
    """Run `aqi backfill 2024-01-01 2024-01-03` against `url` as a user would."""
    aqi = Path(sys.executable).parent / "aqi"
    command = [str(aqi), "backfill", "2024-01-01", "2024-01-03", "--url", url, *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def test_aqi_backfill_builds_the_gold_tables(dagster_ui) -> None:
    done = aqi_backfill(dagster_ui.url, "--poll", "1", "--timeout", "900", timeout=1000)
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"(\d+)/\1 partitions, 0 failed", done.stderr), done.stderr
    reader = LakehouseReader(warehouse=dagster_ui.warehouse.as_uri())
    assert reader.row_count(*FACT_HOURLY.table) == 216
    assert reader.row_count(*FACT_CITY_DAILY.table) == 9
    assert reader.row_count(*DIM_LOCATION.table) == 3
    assert reader.table_exists(*FACT_EPISODE.table)


def test_single_run_backfill_builds_the_graph_in_one_run_without_the_daemon(dagster_ui) -> None:
    done = aqi_backfill(
        dagster_ui.url, "--single-run", "--poll", "1", "--timeout", "900", timeout=1000
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # Every partitioned asset x 3 days + the reference dimensions, never built before.
    total = len(PARTITIONED_ASSETS) * 3 + len(REFERENCE_ASSETS)
    assert f"{total}/{total} partitions, 0 failed, COMPLETED_SUCCESS" in done.stderr, done.stderr
    api = DagsterApi(dagster_ui.url)
    runs = api.runs()
    assert [run.run_id for run in runs] == [done.stdout.strip()]
    assert [run.job_name for run in runs] == [LAKEHOUSE_JOB]
    assert api.backfill_ids() == []
    reader = LakehouseReader(warehouse=dagster_ui.warehouse.as_uri())
    assert reader.row_count(*FACT_HOURLY.table) == 216
    assert reader.row_count(*FACT_CITY_DAILY.table) == 9
    assert reader.row_count(*DIM_LOCATION.table) == 3


def seconds_to_first_run(api: DagsterApi, backfill_id: str, timeout: float = 120) -> float:
    """Seconds from now until the backfill daemon has created the backfill's first run."""
    started = time.monotonic()
    while not api.runs(backfill_id):
        if time.monotonic() - started > timeout:
            pytest.fail(f"backfill {backfill_id} got no run in {timeout:.0f} s")
        time.sleep(0.2)
    return time.monotonic() - started


def test_a_backfill_launched_in_the_ui_starts_within_seconds(dagster_ui) -> None:
    api = DagsterApi(dagster_ui.url)
    day = date(2024, 1, 1)
    first = launch_backfill(api, day, day, [DIM_DATE.asset], title="first")
    seconds_to_first_run(api, first)
    # The daemon has just looked for backfills: this one waits a whole interval (Dagster: 30 s).
    second = launch_backfill(
        api, day + timedelta(days=1), day + timedelta(days=1), [DIM_DATE.asset], title="second"
    )
    assert seconds_to_first_run(api, second) < 15
    for backfill_id in (first, second):
        assert watch(api, backfill_id, poll_seconds=1, timeout_seconds=300).succeeded


def test_aqi_backfill_fails_clearly_without_a_ui() -> None:
    done = aqi_backfill(f"http://127.0.0.1:{free_port()}", timeout=60)
    assert done.returncode == 1
    assert "Cannot reach the Dagster UI" in done.stderr
