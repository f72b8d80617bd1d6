"""aqi_assets.compat.postgres_event_log_compat on a real PostgreSQL server: the production instance
(deploy/dagster-postgres.yaml) records what stock dagster-postgres records for a ranged run, shows
planned partitions in progress, keeps its connections, and outlives its server dropping them."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as db
import yaml
from dagster._core.storage.partition_status_cache import AssetPartitionStatus

from aqi_assets.compat.event_log_compat import BATCH_SIZE_VARIABLE
from aqi_assets.compat.postgres_event_log_compat import (
    MAX_OVERFLOW,
    POOL_SIZE,
    BatchedPostgresEventLogStorage,
)
from aqi_assets.dev.local_postgres import LocalPostgres
from aqi_assets_tests.integration.test_event_log_compat import (
    DAYS,
    RANGE_TAGS,
    broken,
    downstream,
    recorded,
    upstream,
    upstream_has_days,
)
from aqi_assets_tests.postgres_server import POSTGRES_INSTANCE

pytestmark = pytest.mark.postgres
ASSETS = [upstream, upstream_has_days, downstream, broken]


def postgres_instance(
    home: Path,
    server: LocalPostgres,
    database: str,
    monkeypatch: pytest.MonkeyPatch,
    stock: bool = False,
) -> dg.DagsterInstance:
    """An instance on a fresh database, configured by the production file (or, `stock`, by the
    same file with dagster-postgres' own `storage: postgres`)."""
    config = yaml.safe_load(POSTGRES_INSTANCE.read_text())
    if stock:
        config["storage"] = {"postgres": config["storage"]["custom"]["config"]}
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    for name, value in server.env(server.create_database(database)).items():
        monkeypatch.setenv(name, value)
    return dg.DagsterInstance.from_config(str(home))


@pytest.fixture
def unbatched(monkeypatch: pytest.MonkeyPatch) -> None:
    """No event batching in this process to begin with, and whatever a storage sets is undone."""
    monkeypatch.setenv(BATCH_SIZE_VARIABLE, "0")  # remembers the variable's state for the undo
    monkeypatch.delenv(BATCH_SIZE_VARIABLE)


def test_batched_postgres_log_records_what_stock_dagster_postgres_records(
    tmp_path: Path, postgres_server: LocalPostgres, monkeypatch: pytest.MonkeyPatch, unbatched
) -> None:
    results = {}
    for name in ("stock", "batched"):
        instance = postgres_instance(
            tmp_path / name, postgres_server, f"log_{name}", monkeypatch, stock=name == "stock"
        )
        result = dg.materialize(ASSETS, instance=instance, tags=RANGE_TAGS, raise_on_error=False)
        results[name] = recorded(instance, result.run_id), instance

    (stock, stock_instance), (batched, batched_instance) = results["stock"], results["batched"]
    assert isinstance(batched_instance.event_log_storage, BatchedPostgresEventLogStorage)
    assert not isinstance(stock_instance.event_log_storage, BatchedPostgresEventLogStorage)
    assert batched == stock
    days = DAYS.get_partition_keys()
    assert batched["upstream"]["materialized"] == [
        (day, {"days": dg.IntMetadataValue(10)}) for day in days
    ]
    for asset in ("upstream", "downstream", "broken"):
        assert batched[asset]["planned"] == days, asset
    assert [row[2] for row in batched["check_rows"] if row[2]] == days
    assert batched["downstream"]["entry"][1:] == ("2024-01-10", True)
    assert set(batched["downstream"]["status"].values()) == {AssetPartitionStatus.MATERIALIZED}
    assert set(batched["broken"]["status"].values()) == {AssetPartitionStatus.FAILED}


def test_planned_partitions_show_in_progress_before_the_run_starts(
    tmp_path: Path, postgres_server: LocalPostgres, monkeypatch: pytest.MonkeyPatch, unbatched
) -> None:
    instance = postgres_instance(tmp_path / "home", postgres_server, "log_planned", monkeypatch)
    job = dg.Definitions(assets=[upstream]).get_implicit_global_asset_job_def()
    instance.create_run_for_job(job, tags=RANGE_TAGS, asset_selection=frozenset({upstream.key}))
    status = instance.get_status_by_partition(upstream.key, DAYS.get_partition_keys(), DAYS)
    assert set(status.values()) == {AssetPartitionStatus.IN_PROGRESS}


def test_a_ranged_run_reuses_its_connections(
    tmp_path: Path, postgres_server: LocalPostgres, monkeypatch: pytest.MonkeyPatch, unbatched
) -> None:
    instance = postgres_instance(tmp_path / "home", postgres_server, "log_pool", monkeypatch)
    opened = []

    def count(*_: object) -> None:
        opened.append(1)

    # The event log's is the one pooled engine here: the run and schedule storages open each
    # connection anew (NullPool).
    db.event.listen(db.pool.QueuePool, "connect", count)
    try:
        result = dg.materialize(ASSETS, instance=instance, tags=RANGE_TAGS, raise_on_error=False)
    finally:
        db.event.remove(db.pool.QueuePool, "connect", count)
    assert opened  # the listener sees the event log's pool
    stored = len(instance.all_logs(result.run_id))
    # Stock dagster-postgres opens one or two connections per event (over a hundred here).
    assert stored > 60
    assert len(opened) <= POOL_SIZE + MAX_OVERFLOW


def test_the_event_log_reconnects_after_the_server_drops_its_sessions(
    tmp_path: Path, postgres_server: LocalPostgres, monkeypatch: pytest.MonkeyPatch, unbatched
) -> None:
    instance = postgres_instance(tmp_path / "home", postgres_server, "log_drop", monkeypatch)
    first = dg.materialize([upstream], instance=instance, partition_key="2024-01-01")
    admin = postgres_server.connect()
    try:
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = 'log_drop' AND pid <> pg_backend_pid()"
            )
            [(terminated,)] = cursor.fetchall()
    finally:
        admin.close()
    assert terminated >= 1  # the pooled sessions were open, and are gone now
    second = dg.materialize([upstream], instance=instance, partition_key="2024-01-02")
    assert second.success
    assert {first.run_id, second.run_id} <= {r.run_id for r in instance.get_runs()}
    assert instance.get_materialized_partitions(upstream.key) == {"2024-01-01", "2024-01-02"}
