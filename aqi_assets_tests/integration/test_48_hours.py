"""Left alone, it runs: 48 simulated hours equal a one-shot backfill, no run fails, growth is flat.

One clock drives the local server (its model runs: 00Z and 12Z, available 10 h later), the
`ingest_open_days` sensor, the automation's evaluation time and the 03:30 maintenance job. Every requested run executes in this process on one shared Spark session,
so the 48 hourly ticks are real runs but cheap (three locations, a day or two per run).

Marked `simulation` (`./scripts/test -m simulation` runs it alone; CI runs it with the suite).
"""

from __future__ import annotations

import os
import statistics
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from aqi_assets.catalog.registry import TABLES, TableSpec
from aqi_assets.config.profiles import resources_for, spark_resource
from aqi_assets.config.settings import Settings, load_settings
from aqi_assets.definitions import build_assets, build_definitions
from aqi_assets.dev.local_open_meteo import LocalOpenMeteo
from aqi_assets.orchestration.partitions import daily_partitions
from aqi_assets_tests.materialize import materialize_range
from aqi_assets_tests.readback import RUN_BOOKKEEPING
from aqi_assets_tests.simulation import HourFigures, SimClock, Simulation
from resources.iceberg.lakehouse_reader import LakehouseReader

START = datetime(2026, 3, 9, tzinfo=UTC)  # first simulated hour; the sensor's "yesterday" is 8th
HOURS = 48
FIRST_DAY, LAST_DAY = date(2026, 3, 8), date(2026, 3, 10)
PARTITIONS_START = "2026-03-01"
SIM_CATALOG = "sim48"
# Snapshots kept by the simulated maintenance (see `maintenance_config`).
RETAIN_LAST = 4
# Steady hours: only today open (yesterday final from 10:05), no cron. Their event rows must match.
STEADY_HOURS = range(11, 24)
# Event rows of like hours may differ by a few lines (a retried request logs more); 5 % of them.
EVENT_TOLERANCE = 0.05
# Memory: the JVM's heap settles after a few GCs and Python's allocator keeps freed arenas, so
# steady hours may wobble; a leak shows as a rise from the first to the last steady hours above it.
PYTHON_RSS_TOLERANCE_MB = 40.0
JVM_RSS_TOLERANCE_MB = 120.0
# Shuffle files are deleted when the JVM collects their shuffle, so an hour's count depends on
# when the last GC ran (33-372 files an hour over 48 hours on 2026-12-07): days are compared by
# their median, which a file left per run would raise by the day's 24 runs and more.
SCRATCH_TOLERANCE = 20
# Temp-directory subtrees that are not leftovers: pytest's own, this machine's job folders, the
# Spark driver's scratch folders (counted by `spark_local_files`) and the instance's storage.
TEMP_IGNORE = ("pytest-of-", "bash_jobs", "bash_tool_", "spark-", "blockmgr-")


def settings_env(warehouse: Path, server: LocalOpenMeteo, home: Path) -> dict[str, str]:
    """The code location's environment for one warehouse and the local server."""
    return {
        "AQI_WAREHOUSE": warehouse.as_uri(),
        "AQI_OPEN_METEO_URL": server.base_url,
        "AQI_PARTITIONS_START": PARTITIONS_START,
        "AQI_SPARK_UI": "off",
        # One JVM serves every run of the simulation: tuning it for a short run (C1 JIT only,
        # interpreted expressions) would make the 48th run as slow as the first.
        "AQI_SHORT_RUN_MAX_DAYS": "0",
        "AQI_HOME": str(home),
        "DAGSTER_HOME": str(home / "dagster"),
    }


def maintenance_config() -> dict[str, object]:
    """Expire every snapshot but the last RETAIN_LAST.

    Iceberg stamps commits with the real clock: 48 simulated hours take minutes, so with the
    default 7 days nothing would ever be old enough to expire. Age 0 with a small retain_last is
    the same policy compressed to the simulation's time scale.
    """
    return {"keep_snapshots_days": 0, "retain_last": RETAIN_LAST}


def snapshot_counts(warehouse: Path) -> dict[str, int]:
    """Snapshots of every existing table (pyiceberg metadata, no scan)."""
    reader = LakehouseReader(warehouse=warehouse.as_uri())
    return {
        t.asset: len(reader.snapshots(*t.table)) if reader.table_exists(*t.table) else 0
        for t in TABLES
    }


# About 25 minutes on 2 cores.
pytestmark = pytest.mark.simulation


@pytest.fixture
def simulated(spark, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """(simulation, sim warehouse, one-shot warehouse, server) after 48 simulated hours.

    On the suite's shared Spark session (`spark`), as in CI, where other tests ran before.
    """
    monkeypatch.setenv("AQI_HOME", str(tmp_path))  # the report's page goes under tmp_path
    sim_wh, oneshot_wh = tmp_path / "sim-warehouse", tmp_path / "oneshot-warehouse"
    sim_wh.mkdir()
    oneshot_wh.mkdir()
    (tmp_path / "dagster").mkdir()
    with LocalOpenMeteo(now=START) as server, dg.instance_for_test() as instance:
        defs = own_catalog(load_settings(settings_env(sim_wh, server, tmp_path)))
        clock = SimClock(server, START)
        ignore = (*TEMP_IGNORE, Path(instance.root_directory).name)
        sim = Simulation(defs, instance, clock, maintenance_config(), temp_ignore=ignore)
        for n in range(HOURS):
            sim.hour(START + timedelta(hours=n))
            if n == HOURS // 2 - 1:
                sim.first_day_temp = sim.new_temp_paths()
        last_refresh = max(r.at for r in sim.runs if r.origin == "sensor")
        # The one-shot backfill fetches at the instant of the last refresh: same model run, same
        # forecast hours, so every value is comparable.
        server.clock.set(last_refresh)
        oneshot(oneshot_wh, server, tmp_path)
        yield sim, sim_wh, oneshot_wh


def own_catalog(settings: Settings) -> dg.Definitions:
    """The code location's definitions, its Spark resource on a catalog name of its own.

    Spark sets a catalog up once per JVM and name; the suite's JVM is shared, and `lh` (the code
    location's name) belongs to integration/test_jdbc_catalog.py, which reads it as a JDBC one.
    """
    defs = build_definitions(settings)
    return dg.Definitions(
        assets=defs.assets,
        asset_checks=defs.asset_checks,
        sensors=defs.sensors,
        jobs=defs.jobs,
        schedules=defs.schedules,
        executor=defs.executor,
        resources={**defs.resources, "spark": spark_resource(settings, catalog_name=SIM_CATALOG)},
    )


def oneshot(warehouse: Path, server: LocalOpenMeteo, home: Path) -> None:
    """Every table for FIRST_DAY..LAST_DAY in one run, as `aqi backfill --single-run` does."""
    settings = load_settings(settings_env(warehouse, server, home))
    resources = {
        **resources_for(settings),
        # A catalog name of its own: the simulation's points at another warehouse.
        "spark": spark_resource(settings, catalog_name=f"{SIM_CATALOG}_oneshot"),
    }
    assets = build_assets(daily_partitions(date.fromisoformat(PARTITIONS_START)))
    materialize_range(assets, FIRST_DAY, LAST_DAY, resources, selection=[t.asset for t in TABLES])


# Beside readback's RUN_BOOKKEEPING: bronze's `source` is the URL of the request a row came from,
# and a refresh asks for other date ranges than the backfill (its values are compared anyway).
REQUEST_BOOKKEEPING = ("source",)


def table_rows(warehouse: Path, table: TableSpec) -> list[tuple]:
    """Every row of a table, sorted, without the bookkeeping columns of the run that wrote it."""
    arrow = LakehouseReader(warehouse=warehouse.as_uri()).read_arrow(*table.table)
    dropped = [c for c in (*RUN_BOOKKEEPING, *REQUEST_BOOKKEEPING) if c in arrow.column_names]
    return sorted(tuple(r.values()) for r in arrow.drop_columns(dropped).to_pylist())


def differences(left: list[tuple], right: list[tuple]) -> str:
    """The rows only one side has, a few of each, for a readable failure."""
    only_left, only_right = set(left) - set(right), set(right) - set(left)
    return (
        f"{len(only_left)} rows only simulated, e.g. {sorted(only_left)[:2]}; "
        f"{len(only_right)} only one-shot, e.g. {sorted(only_right)[:2]}"
    )


def report(hours: list[HourFigures]) -> str:
    return "\n".join(
        f"{h.hour:%m-%d %H}h runs={h.runs} events={h.event_rows} py={h.python_rss_mb}MB "
        f"jvm={h.jvm_rss_mb}MB temp={h.temp_entries} spark_local={h.spark_local_files}"
        for h in hours
    )


def test_48_simulated_hours(simulated, capsys: pytest.CaptureFixture) -> None:
    sim, sim_wh, oneshot_wh = simulated
    with capsys.disabled():  # the growth figures, for the record even when the test passes
        sys.stdout.write(f"\n{report(sim.hours)}\n")
        sys.stdout.write("".join(f"{r.at:%m-%d %H:%M} {r.origin} {r.seconds}s\n" for r in sim.runs))
    failed = [r for r in sim.runs if not r.success]
    assert not failed, f"runs failed: {failed}"

    # (1) The tables equal a one-shot backfill of the same days. readback drops RUN_BOOKKEEPING:
    # ingested_at/fetched_at/rejected_at are instants of each run, batch_id its run id, and
    # model_run_at the run then served (a day's last refresh and the backfill may read different
    # runs, but both from after the day's end, so every value is the final one).
    assert set(RUN_BOOKKEEPING) >= {"batch_id", "ingested_at", "fetched_at", "model_run_at"}
    mismatched = {}
    for table in TABLES:
        simulated_rows, oneshot_rows = table_rows(sim_wh, table), table_rows(oneshot_wh, table)
        if simulated_rows != oneshot_rows:
            mismatched[table.asset] = differences(simulated_rows, oneshot_rows)
    assert not mismatched, "\n".join(f"{k}: {v}" for k, v in mismatched.items())

    # (2) The 03:30 maintenance ran on both days and the sensor refreshed every hour. (The
    # reference dimensions have no 00:15 cron any more: every refresh run rebuilds them.)
    maintenance = [r for r in sim.runs if r.origin == "maintenance"]
    assert [r.at.hour for r in maintenance] == [3, 3]
    assert len({r.at.replace(minute=0) for r in sim.runs if r.origin == "sensor"}) == HOURS

    # (3) Event-log rows per steady hour constant in the second day, and not above the first's.
    second = [h.event_rows for h in sim.hours[24:] if h.hour.hour in STEADY_HOURS]
    first = [h.event_rows for h in sim.hours[:24] if h.hour.hour in STEADY_HOURS]
    assert max(second) - min(second) <= EVENT_TOLERANCE * statistics.median(second), second
    assert statistics.median(second) <= (1 + EVENT_TOLERANCE) * statistics.median(first)

    # (4) Snapshots expired: each table keeps RETAIN_LAST after the second day's maintenance,
    # plus one commit per refresh since.
    counts = snapshot_counts(sim_wh)
    # 20 hourly refreshes from 04:05 to 23:05, and one spare for a new model run's own refresh.
    bound = RETAIN_LAST + 21
    unexpired = {name: n for name, n in counts.items() if n > bound}
    assert not unexpired, f"snapshots above {bound}, not expired by maintenance: {unexpired}"
    assert counts[TABLES[0].asset] < HOURS, counts

    # (5) No files left behind: the Spark driver's scratch files (under the temp directory) do
    # not accumulate over the second day, and, where the runner is ours alone (CI), nothing new
    # under the temp directory appeared in the second day. On a shared machine other processes
    # write there too, so the system-wide figure is only reported.
    scratch = [h.spark_local_files for h in sim.hours]
    first_day, second_day = statistics.median(scratch[:24]), statistics.median(scratch[24:])
    assert second_day <= first_day + SCRATCH_TOLERANCE, scratch
    left = sorted(sim.new_temp_paths() - sim.first_day_temp)
    if os.environ.get("CI"):
        assert not left, f"left under the temp directory by the second day's runs: {left[:20]}"
    else:
        sys.stdout.write(f"new under the temp directory in the second day: {len(left)}\n")

    # (6) Memory not rising hour over hour in the second day's steady hours.
    steady = [h for h in sim.hours[24:] if h.hour.hour in STEADY_HOURS]
    early, late = steady[:4], steady[-4:]
    py_rise = max(h.python_rss_mb for h in late) - max(h.python_rss_mb for h in early)
    jvm_rise = max(h.jvm_rss_mb for h in late) - max(h.jvm_rss_mb for h in early)
    assert py_rise <= PYTHON_RSS_TOLERANCE_MB, report(steady)
    assert jvm_rise <= JVM_RSS_TOLERANCE_MB, report(steady)
