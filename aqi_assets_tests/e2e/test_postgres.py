"""The production instance (deploy/dagster-postgres.yaml) on a real PostgreSQL server.

A partitioned backfill through the daemon, the hourly refresh's run and a run killed mid-write,
each recorded in PostgreSQL and nothing in SQLite.
"""

from __future__ import annotations

import subprocess
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest
import requests
import yaml

from aqi_assets.catalog.registry import (
    DIM_LOCATION,
    FACT_CITY_DAILY,
    FACT_HOURLY,
    PARTITIONED_ASSETS,
)
from aqi_assets.dev.dagster_dev import PROJECT_ROOT, launch_partition_run, wait_for_run
from aqi_assets_tests.cli_runs import (
    PARTITIONED,
    REFERENCE,
    ROOT,
    cli_env,
    materialize_command,
    run_materialize,
)
from aqi_assets_tests.e2e.test_e2e import aqi_backfill
from aqi_assets_tests.e2e.test_kill import KILLED_RANGE, build, kill_when_files_appear
from aqi_assets_tests.postgres_server import POSTGRES_INSTANCE
from resources.iceberg.lakehouse_reader import LakehouseReader

pytestmark = pytest.mark.postgres
HOURS_PER_DAY = 3 * 24  # the three shipped cities


def postgres_instance(
    home: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> dg.DagsterInstance:
    """The instance the UI, the daemon and the runs use, opened from its DAGSTER_HOME."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return dg.DagsterInstance.from_config(str(home))


def sqlite_files(home: Path) -> list[Path]:
    """SQLite databases Dagster would have created under DAGSTER_HOME for a SQLite instance."""
    return [*home.rglob("*.db"), *home.rglob("*.db-wal")]


def closed_backfill(instance: dg.DagsterInstance, timeout: float = 180) -> object:
    """The instance's one backfill once the daemon has closed it (`aqi backfill` returns as soon
    as every partition is in; the daemon marks the backfill done on a later tick)."""
    deadline = time.monotonic() + timeout
    while True:
        [backfill] = instance.get_backfills()
        if backfill.status.value != "REQUESTED" or time.monotonic() > deadline:
            return backfill
        time.sleep(2)


def days(first: date, last: date) -> set[str]:
    return {(first + timedelta(d)).isoformat() for d in range((last - first).days + 1)}


def test_instance_configuration_matches_the_local_one_apart_from_storage() -> None:
    production = yaml.safe_load(POSTGRES_INSTANCE.read_text())
    local = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text())
    storage = production["storage"]["custom"]
    assert (storage["module"], storage["class"]) == (
        "aqi_assets.compat.postgres_event_log_compat",
        "BatchedPostgresStorage",
    )
    assert set(storage["config"]) == {"postgres_db"}
    for section in ("storage", "event_log_storage"):
        production.pop(section, None)
        local.pop(section, None)
    assert production == local


def test_deployment_guide_shows_the_instance_file_the_tests_use() -> None:
    guide = (PROJECT_ROOT / "docs" / "deployment.md").read_text()
    assert f"```yaml\n{POSTGRES_INSTANCE.read_text()}```" in guide


def test_daemon_backfill_is_recorded_in_postgres(postgres_ui, postgres_env, monkeypatch) -> None:
    done = aqi_backfill(postgres_ui.url, "--poll", "1", "--timeout", "900", timeout=1000)
    assert done.returncode == 0, done.stderr[-3000:]

    reader = LakehouseReader(warehouse=postgres_ui.warehouse.as_uri())
    assert reader.row_count(*FACT_HOURLY.table) == 3 * HOURS_PER_DAY
    assert reader.row_count(*FACT_CITY_DAILY.table) == 9
    instance = postgres_instance(postgres_ui.home, postgres_env, monkeypatch)
    backfill = closed_backfill(instance)
    assert backfill.status.value == "COMPLETED_SUCCESS"
    runs = instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill.backfill_id}))
    assert runs
    assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
    expected = days(date(2024, 1, 1), date(2024, 1, 3))
    assert instance.get_materialized_partitions(FACT_HOURLY.key) == expected
    assert sqlite_files(postgres_ui.home) == []


def test_hourly_refresh_run_is_recorded_in_postgres(
    postgres_ui, postgres_env, open_meteo_server, monkeypatch
) -> None:
    # The reference dimensions the hourly run's key checks read, built on the same instance.
    env = cli_env(postgres_ui.warehouse, open_meteo_server.base_url, postgres_ui.home)
    run_materialize({**env, **postgres_env}, REFERENCE)
    today = datetime.now(UTC).date().isoformat()
    run_id = launch_partition_run(postgres_ui.url, today, list(PARTITIONED_ASSETS))
    assert wait_for_run(postgres_ui.url, run_id) == "SUCCESS"

    instance = postgres_instance(postgres_ui.home, postgres_env, monkeypatch)
    for key in PARTITIONED_ASSETS:
        assert instance.get_materialized_partitions(dg.AssetKey(key)) == {today}, key
    assert instance.get_run_by_id(run_id).tags["dagster/partition"] == today
    reader = LakehouseReader(warehouse=postgres_ui.warehouse.as_uri())
    assert reader.row_count(*DIM_LOCATION.table) == 3
    assert reader.row_count(*FACT_HOURLY.table) > 0
    assert sqlite_files(postgres_ui.home) == []


def force_cancel(url: str, run_id: str) -> None:
    """What the UI's Terminate > Force termination does to a run whose process is gone."""
    mutation = """mutation Cancel($runId: String!) {
      terminateRun(runId: $runId, terminatePolicy: MARK_AS_CANCELED_IMMEDIATELY) {
        __typename ... on TerminateRunFailure { message } ... on PythonError { message } } }"""
    body = requests.post(
        f"{url}/graphql", json={"query": mutation, "variables": {"runId": run_id}}, timeout=30
    ).json()
    assert body["data"]["terminateRun"]["__typename"] == "TerminateRunSuccess", body


def test_killed_run_is_cancelled_its_pool_freed_and_the_rerun_completes(
    tmp_path: Path,
    lakehouse_assets,
    pipeline_resources,
    postgres_ui,
    open_meteo_server,
    postgres_env,
    monkeypatch,
) -> None:
    warehouse = Path(pipeline_resources["lakehouse"].warehouse.removeprefix("file://"))
    build(lakehouse_assets, pipeline_resources, [(date(2024, 1, 1), date(2024, 1, 3))])
    reader = LakehouseReader(warehouse=warehouse.as_uri())
    snapshot_before = reader.current_snapshot_id(*FACT_HOURLY.table)
    # The CLI runs on the UI's instance: same DAGSTER_HOME, same PostgreSQL database.
    env = {**cli_env(warehouse, open_meteo_server.base_url, postgres_ui.home), **postgres_env}
    killed_days = "...".join(d.isoformat() for d in KILLED_RANGE)

    log = tmp_path / "killed-run.log"
    with log.open("w") as out:
        run = subprocess.Popen(
            materialize_command(PARTITIONED, killed_days),
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        killed = kill_when_files_appear(run, warehouse, FACT_HOURLY)
    assert killed, f"run ended before writing: {log.read_text()[-3000:]}"
    assert reader.current_snapshot_id(*FACT_HOURLY.table) == snapshot_before

    # The dead run still holds fact_hourly's pool slot: once it is marked cancelled, run
    # monitoring frees the slot and the rerun, waiting in the pool meanwhile, goes through.
    instance = postgres_instance(postgres_ui.home, postgres_env, monkeypatch)
    [dead] = instance.get_runs()
    assert dead.status == dg.DagsterRunStatus.STARTED
    force_cancel(postgres_ui.url, dead.run_id)
    run_materialize(env, PARTITIONED, killed_days)
    assert reader.row_count(*FACT_HOURLY.table) == 5 * HOURS_PER_DAY

    finished, cancelled = instance.get_runs()  # newest first
    assert cancelled.status == dg.DagsterRunStatus.CANCELED
    assert finished.status == dg.DagsterRunStatus.SUCCESS
    assert instance.get_materialized_partitions(FACT_HOURLY.key) == days(*KILLED_RANGE)
    assert sqlite_files(postgres_ui.home) == []
