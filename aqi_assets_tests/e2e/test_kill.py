"""A run killed with SIGKILL while it writes leaves every table at a whole, readable snapshot."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import date
from pathlib import Path

import pytest

from aqi_assets.catalog.registry import (
    BRONZE_RAW,
    DIM_DATE,
    FACT_CITY_DAILY,
    FACT_EPISODE,
    FACT_HOURLY,
    SILVER_HOURLY,
    SILVER_REJECTS,
)
from aqi_assets.catalog.table_spec import TableSpec
from aqi_assets_tests.cli_runs import (
    PARTITIONED,
    ROOT,
    cli_env,
    materialize_command,
    run_materialize,
)
from aqi_assets_tests.conftest import make_spark_resource
from aqi_assets_tests.materialize import materialize_range, materialize_reference
from aqi_assets_tests.readback import table_rows
from resources.iceberg.lakehouse_reader import LakehouseReader

pytestmark = pytest.mark.e2e
TABLES = (BRONZE_RAW, SILVER_HOURLY, SILVER_REJECTS, DIM_DATE, FACT_HOURLY, FACT_CITY_DAILY)
KILLED_RANGE = (date(2024, 1, 2), date(2024, 1, 5))


def committed_files(warehouse: Path, table: TableSpec) -> set[str]:
    """Paths of the data files referenced by the table's current snapshot."""
    files = LakehouseReader(warehouse=warehouse.as_uri()).files(*table.table)
    return {Path(f.path).name for f in files}


def parquet_files(warehouse: Path, table: TableSpec) -> set[str]:
    """Names of the Parquet files present in the table's data folder, committed or not."""
    return {p.name for p in (warehouse.joinpath(*table.table) / "data").rglob("*.parquet")}


def kill_when_files_appear(process: subprocess.Popen, warehouse: Path, table: TableSpec) -> bool:
    """SIGKILL the run's process group as soon as a new data file of `table` is on disk."""
    known = parquet_files(warehouse, table)
    while process.poll() is None:
        if parquet_files(warehouse, table) - known:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=60)
            return True
        time.sleep(0.005)
    return False


def build(assets, resources, ranges: list[tuple[date, date]]) -> None:
    """Reference dimensions, then each day range of the partitioned graph, in-process."""
    materialize_reference(assets, resources)
    for first, last in ranges:
        materialize_range(assets, first, last, resources)


def test_sigkill_mid_write_keeps_whole_snapshots_and_rerun_completes(
    tmp_path: Path, lakehouse_assets, pipeline_resources, open_meteo_server
) -> None:
    warehouse = Path(pipeline_resources["lakehouse"].warehouse.removeprefix("file://"))
    build(lakehouse_assets, pipeline_resources, [(date(2024, 1, 1), date(2024, 1, 3))])
    before = {t: table_rows(warehouse, t) for t in TABLES}
    snapshot_before = LakehouseReader(warehouse=warehouse.as_uri()).current_snapshot_id(
        *FACT_HOURLY.table
    )

    env = cli_env(warehouse, open_meteo_server.base_url, tmp_path / "home")
    days = "...".join(d.isoformat() for d in KILLED_RANGE)
    run = subprocess.Popen(
        materialize_command(PARTITIONED, days),
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert kill_when_files_appear(run, warehouse, FACT_HOURLY), "run ended before writing"

    reader = LakehouseReader(warehouse=warehouse.as_uri())
    assert reader.current_snapshot_id(*FACT_HOURLY.table) == snapshot_before
    assert parquet_files(warehouse, FACT_HOURLY) - committed_files(warehouse, FACT_HOURLY), (
        "the kill landed while fact_hourly's files were being written"
    )

    reference_wh = tmp_path / "reference"
    reference_resources = {
        **pipeline_resources,
        "spark": make_spark_resource(reference_wh, catalog_name="kill_reference"),
        "lakehouse": LakehouseReader(warehouse=reference_wh.as_uri()),
    }
    build(
        lakehouse_assets,
        reference_resources,
        [(date(2024, 1, 1), date(2024, 1, 3)), KILLED_RANGE],
    )
    uninterrupted = {t: table_rows(reference_wh, t) for t in TABLES}
    for table in TABLES:
        assert table_rows(warehouse, table) in (before[table], uninterrupted[table]), (
            f"{table} holds a partial write after the kill"
        )

    run_materialize(env, PARTITIONED, days)
    for table in (*TABLES, FACT_EPISODE):
        assert table_rows(warehouse, table) == table_rows(reference_wh, table), table
