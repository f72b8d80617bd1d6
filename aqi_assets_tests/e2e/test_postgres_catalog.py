"""Production's Iceberg catalog: a JDBC catalog in its own database on the PostgreSQL server of
the Dagster instance (deploy/dagster-postgres.yaml), the whole graph committing through it.

A daemon backfill and the hourly refresh's run commit at once (to different tables: each table
has one writer at a time), then pyiceberg reads every gold table through the same catalog and
finds what Spark reads, and what a serial build on the default catalog holds.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import NamedTuple

import dagster as dg
import pytest

from aqi_assets.catalog.registry import (
    FACT_CITY_DAILY,
    FACT_EPISODE,
    FACT_HOURLY,
    PARTITIONED_ASSETS,
    SILVER_HOURLY,
    TABLES,
)
from aqi_assets.cli.backfill import launch_backfill
from aqi_assets.cli.graphql_queries import DagsterApi
from aqi_assets.cli.progress import watch
from aqi_assets.dev.dagster_dev import DagsterDev, launch_partition_run, wait_for_run
from aqi_assets.dev.local_postgres import LocalPostgres
from aqi_assets_tests.catalog_readback import (
    GOLD,
    export_in_subprocess,
    pyiceberg_rows,
    spark_rows,
)
from aqi_assets_tests.conftest import make_spark_resource
from aqi_assets_tests.e2e.test_concurrency import (
    backfill_runs,
    step_windows,
    wait_for_partitioned_backfill_run,
)
from aqi_assets_tests.materialize import materialize_range, materialize_reference
from aqi_assets_tests.postgres_server import POSTGRES_INSTANCE
from aqi_assets_tests.readback import RUN_BOOKKEEPING, table_rows
from resources.iceberg.lakehouse_reader import LakehouseReader

pytestmark = pytest.mark.postgres
BACKFILL = (date(2024, 1, 1), date(2024, 1, 3))
REFRESHED_DAY = "2024-01-03"
COMPARED = (SILVER_HOURLY, FACT_HOURLY, FACT_CITY_DAILY, FACT_EPISODE)
_catalog_ids = itertools.count()


class CatalogUI(NamedTuple):
    """`dagster dev` on the PostgreSQL instance with its Iceberg catalog on the same server."""

    url: str
    home: Path
    warehouse: Path
    catalog_database: str
    env: dict[str, str]


@pytest.fixture
def catalog_ui(
    tmp_path: Path,
    open_meteo_server,
    postgres_server: LocalPostgres,
    postgres_env: dict[str, str],
) -> Iterator[CatalogUI]:
    database = postgres_server.create_database(f"iceberg_{next(_catalog_ids)}")
    warehouse = tmp_path / "ui-warehouse"
    env = {
        **postgres_env,
        "AQI_WAREHOUSE": warehouse.as_uri(),
        "AQI_CATALOG_TYPE": "jdbc",
        "AQI_CATALOG_URI": postgres_server.jdbc_uri(database),
        "AQI_OPEN_METEO_URL": open_meteo_server.base_url,
        "AQI_AUTOMATION": "off",
        "AQI_SPARK_UI": "off",
    }
    with DagsterDev(tmp_path, env, instance_config=POSTGRES_INSTANCE) as ui:
        yield CatalogUI(ui.url, ui.home, warehouse, database, env)


def catalog_rows(server: LocalPostgres, database: str) -> set[tuple[str, str, str]]:
    """(catalog, namespace, table) of every table the JDBC catalog's database names."""
    conn = server.connect(database)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT catalog_name, table_namespace, table_name FROM iceberg_tables")
            return set(cursor.fetchall())
    finally:
        conn.close()


def rows_without_bookkeeping(reader: LakehouseReader, spec) -> list[tuple]:
    arrow = reader.read_arrow(*spec.table)
    arrow = arrow.drop_columns([c for c in RUN_BOOKKEEPING if c in arrow.column_names])
    return sorted((tuple(r.values()) for r in arrow.to_pylist()), key=repr)


def test_backfill_and_refresh_commit_through_the_postgres_catalog_and_pyiceberg_reads_it(
    catalog_ui: CatalogUI,
    postgres_server: LocalPostgres,
    tmp_path: Path,
    lakehouse_assets,
    pipeline_resources,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in catalog_ui.env.items():
        monkeypatch.setenv(name, value)
    instance = dg.DagsterInstance.from_config(str(catalog_ui.home))
    # Dagster's PostgreSQL storage creates a pool's row at the pool's first claim, and two runs
    # creating one at once fail one run (its transaction is aborted by the duplicate key, and
    # Dagster goes on using it): unrelated to the catalog, so the pools exist beforehand, as in
    # an instance that has run before.
    for pool in sorted({spec.pool for spec in TABLES}):
        instance.event_log_storage.initialize_concurrency_limit_to_default(pool)
    api = DagsterApi(catalog_ui.url)
    backfill_id = launch_backfill(api, *BACKFILL, None, title="postgres catalog")
    wait_for_partitioned_backfill_run(api, backfill_id)
    refresh_run = launch_partition_run(catalog_ui.url, REFRESHED_DAY, list(PARTITIONED_ASSETS))
    progress = watch(api, backfill_id, poll_seconds=1, timeout_seconds=900)
    assert progress.succeeded, progress
    assert wait_for_run(catalog_ui.url, refresh_run) == "SUCCESS"

    # The two runs wrote at the same time, each to a table the other was not writing.
    backfill_steps = step_windows(instance, backfill_runs(api, backfill_id))
    refresh_steps = step_windows(instance, [refresh_run])
    overlapping = {
        (a, b)
        for a, a_windows in backfill_steps.items()
        for b, b_windows in refresh_steps.items()
        for a_start, a_end in a_windows
        for b_start, b_end in b_windows
        if a_start < b_end and b_start < a_end
    }
    assert overlapping, "the refresh and the backfill never ran at once"
    assert all(a != b for a, b in overlapping), f"one table written twice at once: {overlapping}"

    # Every table is a row of the catalog's database, none a Hadoop catalog's version file.
    names = {("lh", *spec.table) for spec in TABLES if spec.asset in PARTITIONED_ASSETS}
    assert names <= catalog_rows(postgres_server, catalog_ui.catalog_database)
    assert not list(catalog_ui.warehouse.rglob("version-hint.text"))

    reader = LakehouseReader(
        warehouse=catalog_ui.warehouse.as_uri(),
        catalog_type="jdbc",
        catalog_uri=catalog_ui.env["AQI_CATALOG_URI"],
    )
    export_in_subprocess({**catalog_ui.env, "DAGSTER_HOME": str(catalog_ui.home)}, tmp_path / "x")
    built = [spec for spec in GOLD if reader.table_exists(*spec.table)]
    assert {spec.asset for spec in built} >= {FACT_HOURLY.asset, FACT_CITY_DAILY.asset}
    for spec in built:
        assert pyiceberg_rows(reader, spec) == spark_rows(tmp_path / "x", spec), spec.asset

    # Nothing lost to the concurrency: the same rows as one writer after the other.
    serial = tmp_path / "serial"
    resources = {
        **pipeline_resources,
        "spark": make_spark_resource(serial, catalog_name="pg_serial"),
        "lakehouse": LakehouseReader(warehouse=serial.as_uri()),
    }
    materialize_reference(lakehouse_assets, resources)
    materialize_range(lakehouse_assets, *BACKFILL, resources)
    day = date.fromisoformat(REFRESHED_DAY)
    materialize_range(lakehouse_assets, day, day, resources)
    for spec in COMPARED:
        expected = sorted(table_rows(serial, spec), key=repr)
        assert rows_without_bookkeeping(reader, spec) == expected, spec.asset
