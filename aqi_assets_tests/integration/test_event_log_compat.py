"""aqi_assets.compat.event_log_compat: the batched event log records exactly what Dagster's stock SQLite
log records, and on another Dagster release the module falls back to the stock log with a warning."""

import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable
from dagster._core.storage.partition_status_cache import AssetPartitionStatus
from dagster._serdes import deserialize_value

from aqi_assets.compat.event_log_compat import BATCH_SIZE_VARIABLE, BatchedSqliteEventLogStorage
from aqi_assets.dev.dagster_dev import PROJECT_ROOT
from resources.spark.run_tags import RANGE_END_TAG, RANGE_START_TAG

DAYS = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-11")
RANGE_TAGS = {
    RANGE_START_TAG: "2024-01-01",
    RANGE_END_TAG: "2024-01-10",
}
POLICY = dg.BackfillPolicy.single_run()


@dg.asset(partitions_def=DAYS, backfill_policy=POLICY)
def upstream(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"days": len(context.partition_keys)})


@dg.asset_check(asset=upstream)
def upstream_has_days() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


@dg.asset(partitions_def=DAYS, backfill_policy=POLICY, deps=[upstream])
def downstream() -> None:
    return None


@dg.asset(partitions_def=DAYS, backfill_policy=POLICY, deps=[downstream])
def broken() -> None:
    raise RuntimeError("boom")


def project_instance(home: Path, monkeypatch: pytest.MonkeyPatch) -> dg.DagsterInstance:
    """An instance configured by the project's dagster.yaml, as scripts/dev sets it up."""
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.delenv(BATCH_SIZE_VARIABLE, raising=False)
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    return dg.DagsterInstance.from_config(str(home))


def recorded(instance: dg.DagsterInstance, run_id: str) -> dict:
    """What the UI and the automation read back about the assets and the run."""
    keys = [dg.AssetKey(name) for name in ("upstream", "downstream", "broken")]
    days = DAYS.get_partition_keys()
    out: dict = {"run_events": [e.dagster_event_type for e in instance.all_logs(run_id)]}
    check_runs = instance.event_log_storage.get_asset_check_execution_history(
        upstream_has_days.check_key, limit=10
    )
    out["check_runs"] = [(r.run_id == run_id, r.status) for r in check_runs]
    out["check_rows"] = check_rows(instance, run_id)
    for key in keys:
        materializations = instance.fetch_materializations(key, limit=100).records
        planned = instance.fetch_planned_materializations(key, limit=100).records
        out[key.to_user_string()] = {
            "materialized": sorted(
                (r.partition_key, dict(r.asset_materialization.metadata)) for r in materializations
            ),
            "planned": sorted(r.partition_key for r in planned),
            "status": instance.get_status_by_partition(key, days, DAYS),
            "entry": asset_entry(instance, key, run_id),
        }
    return out


def check_rows(instance: dg.DagsterInstance, run_id: str) -> list[tuple]:
    """Every row of the asset check executions table, one per check and planned partition."""
    t = AssetCheckExecutionsTable.c
    query = AssetCheckExecutionsTable.select().with_only_columns(
        t.asset_key, t.check_name, t.partition, t.run_id, t.execution_status, t.evaluation_event
    )
    with instance.event_log_storage.index_connection() as conn:
        rows = conn.execute(query).fetchall()
    found = [
        (
            asset,
            name,
            partition,
            run == run_id,
            status,
            deserialize_value(event).get_dagster_event().event_type_value,
        )
        for asset, name, partition, run, status, event in rows
    ]
    return sorted(found, key=repr)


def asset_entry(instance: dg.DagsterInstance, key: dg.AssetKey, run_id: str) -> tuple:
    """The asset's row in the asset key table: its last materialization and last run."""
    entry = instance.get_asset_records([key])[0].asset_entry
    last = entry.last_materialization_record
    return (
        last.storage_id if last else None,
        last.partition_key if last else None,
        entry.last_run_id == run_id,
    )


def test_batched_log_records_what_the_stock_log_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = {}
    for name in ("stock", "project"):
        home = tmp_path / name
        home.mkdir()
        if name == "stock":
            instance = dg.DagsterInstance.from_config(str(home))
        else:
            instance = project_instance(home, monkeypatch)
        result = dg.materialize(
            [upstream, upstream_has_days, downstream, broken],
            instance=instance,
            tags=RANGE_TAGS,
            raise_on_error=False,
        )
        results[name] = recorded(instance, result.run_id), instance

    (stock, stock_instance), (project, project_instance_) = results["stock"], results["project"]
    assert isinstance(project_instance_.event_log_storage, BatchedSqliteEventLogStorage)
    assert not isinstance(stock_instance.event_log_storage, BatchedSqliteEventLogStorage)
    assert project == stock
    days = DAYS.get_partition_keys()
    assert project["upstream"]["materialized"] == [
        (day, {"days": dg.IntMetadataValue(10)}) for day in days
    ]
    assert project["downstream"]["planned"] == days
    assert [row[2] for row in project["check_rows"] if row[2]] == days
    assert project["downstream"]["entry"][1:] == ("2024-01-10", True)
    assert set(project["downstream"]["status"].values()) == {AssetPartitionStatus.MATERIALIZED}
    assert set(project["broken"]["status"].values()) == {AssetPartitionStatus.FAILED}


def test_planned_partitions_show_in_progress_before_the_run_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = project_instance(tmp_path, monkeypatch)
    job = dg.Definitions(assets=[upstream]).get_implicit_global_asset_job_def()
    instance.create_run_for_job(job, tags=RANGE_TAGS, asset_selection=frozenset({upstream.key}))
    status = instance.get_status_by_partition(upstream.key, DAYS.get_partition_keys(), DAYS)
    assert set(status.values()) == {AssetPartitionStatus.IN_PROGRESS}


FALLBACK_PROBE = """
import warnings
import dagster
dagster.__version__ = "0.0.1"
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    from aqi_assets.compat import event_log_compat
from dagster._core.storage.event_log import SqliteEventLogStorage
storage = event_log_compat.BatchedSqliteEventLogStorage
print(len([w for w in caught if "event_log_compat" in str(w.message)]))
print(storage.store_event_batch is SqliteEventLogStorage.store_event_batch)
"""


def test_other_dagster_release_gets_the_stock_event_log_and_one_warning() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", FALLBACK_PROBE], capture_output=True, text=True, check=True
    )
    assert probe.stdout.split() == ["1", "True"], probe.stderr
