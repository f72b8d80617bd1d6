"""fact_aqi_forecast holds only future hours, is replaced in one commit and survives a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import pytest

from aqi_assets.catalog.registry import BRONZE_RAW, FACT_AQI_FORECAST
from aqi_assets.transforms.bronze_rows import bronze_frame, payload_frame
from aqi_assets_tests.cli_runs import ROOT, cli_env, materialize_command
from aqi_assets_tests.clocked import AFTER_RUN, BEFORE_RUN, TODAY, clocked, table
from aqi_assets_tests.materialize import materialize_range
from aqi_assets_tests.readback import table_rows
from resources.iceberg.lakehouse_reader import LakehouseReader
from resources.iceberg.window_writes import replace_window

__all__ = ["clocked"]


def parquet_files(warehouse: Path) -> set[str]:
    """Parquet files in the forecast table's data folder, committed or not."""
    return {
        p.name for p in (warehouse.joinpath(*FACT_AQI_FORECAST.table) / "data").rglob("*.parquet")
    }


def kill_on_new_files(process: subprocess.Popen, warehouse: Path) -> bool:
    """SIGKILL the run's process group as soon as a new forecast data file is on disk."""
    known = parquet_files(warehouse)
    while process.poll() is None:
        if parquet_files(warehouse) - known:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=60)
            return True
        time.sleep(0.005)
    return False


def naive(instant: datetime) -> datetime:
    return instant.replace(tzinfo=None)


def forecast(lakehouse_assets, resources) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        lakehouse_assets, selection=[FACT_AQI_FORECAST.asset], resources=resources
    )


def test_forecast_holds_future_hours_to_the_horizon_with_local_days(
    clocked, lakehouse_assets, spark
) -> None:
    _, resources = clocked
    result = forecast(lakehouse_assets, resources)
    rows = table(spark, resources, FACT_AQI_FORECAST).collect()
    # 10:00 on the 10th to the 12Z run's last step (2026-03-14 12:00): 99 hours per location.
    assert len(rows) == 2 * 99
    assert min(r["ts_utc"] for r in rows) == datetime(2026, 3, 10, 10)
    assert max(r["ts_utc"] for r in rows) == datetime(2026, 3, 14, 12)
    assert {r["model_run_at"] for r in rows} == {datetime(2026, 3, 9, 12)}
    assert {r["fetched_at"] for r in rows} == {naive(BEFORE_RUN)}
    # Both locations live in Asia/Ho_Chi_Minh (UTC+7): their day turns at 17:00 UTC.
    local_days = {
        hour: {r["date_local"] for r in rows if r["ts_utc"] == datetime(2026, 3, 10, hour)}
        for hour in (16, 17)
    }
    assert local_days == {16: {date(2026, 3, 10)}, 17: {date(2026, 3, 11)}}
    assert all(r["aqi"] is not None and r["aqi_category"] for r in rows)
    [materialization] = result.asset_materializations_for_node(FACT_AQI_FORECAST.asset)
    outlook = materialization.metadata["highest_aqi_per_local_day"].value
    spell_peaks = {r["date_local"]: 0 for r in rows if r["location_key"] == "spell"}
    for r in rows:
        if r["location_key"] == "spell":
            spell_peaks[r["date_local"]] = max(spell_peaks[r["date_local"]], r["aqi"])
    header = "| city | " + " | ".join(d.isoformat() for d in sorted(spell_peaks)) + " |"
    spell = "| Spell | " + " | ".join(str(spell_peaks[d]) for d in sorted(spell_peaks)) + " |"
    assert header in outlook
    assert spell in outlook


def test_each_refresh_replaces_the_forecast_in_one_commit(
    clocked, lakehouse_assets, spark, warehouse: Path
) -> None:
    server, resources = clocked
    forecast(lakehouse_assets, resources)
    reader = LakehouseReader(warehouse=warehouse.as_uri())
    snapshots = len(reader.snapshots(*FACT_AQI_FORECAST.table))
    server.clock.set(AFTER_RUN)
    forecast(lakehouse_assets, resources)
    assert len(reader.snapshots(*FACT_AQI_FORECAST.table)) == snapshots + 1
    rows = table(spark, resources, FACT_AQI_FORECAST).collect()
    assert min(r["ts_utc"] for r in rows) == datetime(2026, 3, 10, 11)
    # The 00Z run reaches 2026-03-15 00:00.
    assert max(r["ts_utc"] for r in rows) == datetime(2026, 3, 15, 0)
    assert {r["model_run_at"] for r in rows} == {datetime(2026, 3, 10, 0)}


def test_partitioned_tables_never_hold_days_after_today(clocked, lakehouse_assets, spark) -> None:
    _, resources = clocked
    materialize_range(lakehouse_assets, TODAY, TODAY, resources, [BRONZE_RAW.asset])
    latest = table(spark, resources, BRONZE_RAW).agg({"ts_utc": "max"}).first()[0]
    assert latest == datetime(2026, 3, 10, 23)


def test_a_table_without_the_columns_the_asset_writes_fails_loudly_and_keeps_its_rows(
    clocked, lakehouse_assets, spark
) -> None:
    """A bronze table written without the fetch flags is not altered behind anyone's back: the
    run fails, without retries, naming the missing columns and the explicit opt-in that adds them."""
    _, resources = clocked
    client = resources["open_meteo"]
    locations = resources["pipeline"].locations()
    old_day = date(2026, 3, 8)
    [answer] = client.fetch_requests(locations, old_day, old_day)
    session = resources["spark"].spark_session
    old = bronze_frame(payload_frame(session, answer.items), BEFORE_RUN, "old-version")
    assert "is_forecast" not in old.columns
    name = resources["spark"].table(*BRONZE_RAW.table)
    replace_window(old, name, BRONZE_RAW.window_column, old_day, TODAY)
    rows = session.table(name).count()
    result = materialize_range(
        lakehouse_assets, TODAY, TODAY, resources, [BRONZE_RAW.asset], raise_on_error=False
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.message
    for column in ("is_forecast", "model_run_at"):
        assert f"{column} " in message
    # Columns only added: the way forward is the explicit opt-in, not a dropped table.
    assert "schema_evolution: add_columns" in message
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert "is_forecast" not in session.table(name).columns
    assert session.table(name).count() == rows


@pytest.mark.e2e
def test_a_kill_mid_write_leaves_the_previous_forecast_readable(
    tmp_path: Path, lakehouse_assets, clocked, warehouse: Path
) -> None:
    server, resources = clocked
    forecast(lakehouse_assets, resources)
    before = table_rows(warehouse, FACT_AQI_FORECAST)
    reader = LakehouseReader(warehouse=warehouse.as_uri())
    snapshot = reader.current_snapshot_id(*FACT_AQI_FORECAST.table)
    server.clock.set(AFTER_RUN)
    env = cli_env(warehouse, server.base_url, tmp_path / "home")
    env["AQI_LOCATIONS_PATH"] = resources["pipeline"].locations_path
    run = subprocess.Popen(
        materialize_command(FACT_AQI_FORECAST.asset),
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert kill_on_new_files(run, warehouse), "run ended before writing"
    assert reader.current_snapshot_id(*FACT_AQI_FORECAST.table) == snapshot
    committed = {Path(f.path).name for f in reader.files(*FACT_AQI_FORECAST.table)}
    assert parquet_files(warehouse) - committed, "the kill landed while files were being written"
    assert table_rows(warehouse, FACT_AQI_FORECAST) == before
