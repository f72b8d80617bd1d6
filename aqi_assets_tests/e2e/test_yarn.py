"""The cluster profile on a real YARN cluster with its Iceberg warehouse on HDFS.

One Hadoop test cluster (aqi_assets/dev/minicluster.py) serves the module: Spark runs in YARN
client mode from the Dagster processes, executors in NodeManager containers, every table on
HDFS, read back over WebHDFS.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlparse

import dagster as dg
import pytest

from aqi_assets.catalog.registry import (
    BRONZE_RAW,
    DIM_DATE,
    DIM_LOCATION,
    FACT_CITY_DAILY,
    FACT_EPISODE,
    FACT_HOURLY,
    PARTITIONED_ASSETS,
    REFERENCE_ASSETS,
    SILVER_HOURLY,
    SILVER_REJECTS,
    TableSpec,
)
from aqi_assets.dev.dagster_dev import DagsterDev, launch_partition_run, wait_for_run
from aqi_assets.dev.minicluster import MiniCluster
from aqi_assets_tests.cli_runs import (
    PARTITIONED,
    REFERENCE,
    ROOT,
    cli_env,
    materialize_command,
    run_materialize,
)
from aqi_assets_tests.e2e.test_e2e import aqi_backfill
from aqi_assets_tests.readback import RUN_BOOKKEEPING
from aqi_assets_tests.yarn_cluster import yarn_env
from resources.iceberg import webhdfs_io
from resources.iceberg.lakehouse_reader import LakehouseReader

pytestmark = pytest.mark.yarn
APP_ID = re.compile(r"application_\d+_\d+")

# A PySpark job through the code location's own cluster profile: the resource AQI_ENV=cluster
# builds, one Iceberg table written on HDFS.
SMOKE_JOB = """
from aqi_assets.config.profiles import spark_resource
from aqi_assets.config.settings import load_settings

resource = spark_resource(load_settings())
spark = resource.spark_session
print("APP", spark.sparkContext.applicationId, spark.sparkContext.master, flush=True)
table = resource.table("smoke", "squares")
spark.sql(f"CREATE TABLE {table} (n bigint, square bigint) USING iceberg")
spark.range(0, 1000, numPartitions=4).selectExpr("id AS n", "id * id AS square").writeTo(table).append()
spark.stop()
"""


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout:.0f} s")
        time.sleep(1)


def executor_ran_tasks(cluster: MiniCluster, app_id: str) -> bool:
    """Whether a container other than the application master ran Spark tasks."""
    logs = cluster.container_logs(app_id)
    return any("Got assigned task" in log for name, log in logs.items() if not name.endswith("01"))


def assert_succeeded_on_yarn(cluster: MiniCluster, app_id: str) -> None:
    """The application finished SUCCEEDED in the profile's queue, executors in containers."""
    # The run's process ends as its driver says goodbye; the RM records the end a moment later.
    wait_until(
        lambda: (
            cluster.application(app_id)["state"] not in ("NEW", "SUBMITTED", "ACCEPTED", "RUNNING")
        ),
        120,
        f"{app_id} did not finish",
    )
    app = cluster.application(app_id)
    assert (app["state"], app["finalStatus"]) == ("FINISHED", "SUCCEEDED"), app
    assert app["queue"] == "aqi", app
    assert app["applicationType"] == "SPARK", app
    assert executor_ran_tasks(cluster, app_id), f"no executor container of {app_id} ran a task"


def jdbc_catalog_env(folder: Path) -> dict[str, str]:
    """A JDBC catalog in a SQLite file on the Dagster host: only the driver commits."""
    return {"AQI_CATALOG_TYPE": "jdbc", "AQI_CATALOG_URI": f"jdbc:sqlite:{folder}/catalog.db"}


def catalog_reader(warehouse: str, cluster: MiniCluster, env: dict[str, str]) -> LakehouseReader:
    """The reader of `warehouse` through the catalog `env` configures."""
    return LakehouseReader(
        warehouse=warehouse,
        webhdfs_url=cluster.webhdfs_url,
        catalog_type=env.get("AQI_CATALOG_TYPE", "hadoop"),
        catalog_uri=env.get("AQI_CATALOG_URI"),
    )


@pytest.mark.parametrize("catalog", ["hadoop", "jdbc"])
def test_a_pyspark_job_on_yarn_writes_iceberg_on_hdfs(
    yarn_cluster: MiniCluster, tmp_path: Path, catalog: str
) -> None:
    warehouse = f"{yarn_cluster.fs_uri}/smoke-{catalog}"
    env = yarn_env(yarn_cluster, warehouse, "http://127.0.0.1:9", tmp_path / "home")
    env |= jdbc_catalog_env(tmp_path) if catalog == "jdbc" else {}
    done = subprocess.run(
        [sys.executable, "-c", SMOKE_JOB],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    [line] = [line for line in done.stdout.splitlines() if line.startswith("APP ")]
    _, app_id, master = line.split()
    assert master == "yarn"
    assert APP_ID.fullmatch(app_id)
    assert_succeeded_on_yarn(yarn_cluster, app_id)

    reader = catalog_reader(warehouse, yarn_cluster, env)
    rows = reader.read_arrow("smoke", "squares").to_pylist()
    assert sorted((r["n"], r["square"]) for r in rows) == [(n, n * n) for n in range(1000)]
    files = reader.files("smoke", "squares")
    assert files
    assert all(f.path.startswith(f"{warehouse}/") for f in files)
    hdfs = webhdfs_io.webhdfs(yarn_cluster.webhdfs_url, webhdfs_io.hdfs_user())
    metadata = hdfs.ls(f"/smoke-{catalog}/smoke/squares/metadata", detail=False)
    assert any(name.endswith(".metadata.json") for name in metadata), metadata
    # The JDBC catalog's current metadata is named by its database, not by a version hint.
    hinted = any(name.endswith("version-hint.text") for name in metadata)
    assert hinted == (catalog == "hadoop")
    assert reader.load("smoke", "squares").metadata_location.startswith(f"{warehouse}/")


def test_the_graph_on_yarn_commits_to_hdfs_through_a_jdbc_catalog(
    yarn_cluster: MiniCluster, open_meteo_server, tmp_path: Path
) -> None:
    warehouse = f"{yarn_cluster.fs_uri}/jdbc-lakehouse"
    env = yarn_env(yarn_cluster, warehouse, open_meteo_server.base_url, tmp_path / "home")
    env |= jdbc_catalog_env(tmp_path)
    run_materialize(env, REFERENCE)
    run_materialize(env, PARTITIONED, f"{JDBC_DAY}...{JDBC_DAY}")

    reader = catalog_reader(warehouse, yarn_cluster, env)
    assert reader.row_count(*FACT_HOURLY.table) == 3 * 24
    assert reader.row_count(*FACT_CITY_DAILY.table) == 3
    for spec in (BRONZE_RAW, SILVER_HOURLY, FACT_HOURLY, FACT_CITY_DAILY, DIM_DATE, DIM_LOCATION):
        files = reader.files(*spec.table)
        assert files, spec.asset
        assert all(f.path.startswith(f"{warehouse}/{spec.layer.value}/") for f in files)


# -- the asset graph through `dagster dev` -------------------------------------------------------
GOLD = (FACT_HOURLY, FACT_CITY_DAILY, FACT_EPISODE, DIM_DATE, DIM_LOCATION)
BACKFILL = (date(2024, 1, 1), date(2024, 1, 3))
REFRESHED_DAY = "2024-01-03"  # the sensor's re-ingestion of yesterday, run for a day we compare
JDBC_DAY = "2024-01-01"
LOG_LINE = re.compile(r"Spark application (application_\d+_\d+) on yarn")


class YarnGraph(NamedTuple):
    """The graph built by a daemon backfill and an hourly refresh run on the YARN cluster."""

    home: Path
    warehouse: str
    env: dict[str, str]
    refresh_run_id: str
    refresh_status: str


def open_instance(home: Path, monkeypatch: pytest.MonkeyPatch) -> dg.DagsterInstance:
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return dg.DagsterInstance.from_config(str(home))


def failures(instance: dg.DagsterInstance, run_id: str) -> str:
    """The failure events of a run, with their errors, for an assertion message."""
    found = []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is not None and event.is_failure:
            error = getattr(event.event_specific_data, "error", None)
            found.append(
                f"{entry.step_key}: {entry.user_message}\n{error.to_string() if error else ''}"
            )
    return "\n".join(found)[-6000:]


def reader_rows(reader: LakehouseReader, spec: TableSpec) -> list[tuple]:
    """Every row of a table, sorted, without the columns that differ from run to run."""
    arrow = reader.read_arrow(*spec.table)
    arrow = arrow.drop_columns([c for c in RUN_BOOKKEEPING if c in arrow.column_names])
    return sorted(tuple(r.values()) for r in arrow.to_pylist())


@pytest.fixture(scope="module")
def yarn_graph(
    yarn_cluster: MiniCluster, open_meteo_server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[YarnGraph]:
    """`dagster dev` on the cluster profile: `aqi backfill` of three days through the daemon,
    then the run the hourly refresh launches for one day."""
    workdir = tmp_path_factory.mktemp("yarn-graph")
    warehouse = f"{yarn_cluster.fs_uri}/lakehouse"
    env = yarn_env(yarn_cluster, warehouse, open_meteo_server.base_url, workdir / "cli-home")
    with DagsterDev(workdir, env) as ui:
        done = aqi_backfill(ui.url, "--poll", "1", "--timeout", "1500", timeout=1600)
        assert done.returncode == 0, done.stderr[-3000:] + ui.log_tail()
        run_id = launch_partition_run(ui.url, REFRESHED_DAY, list(PARTITIONED_ASSETS))
        status = wait_for_run(ui.url, run_id, timeout=900)
        yield YarnGraph(ui.home, warehouse, env, run_id, status)


def test_backfill_and_refresh_run_every_spark_application_on_yarn(
    yarn_graph: YarnGraph, yarn_cluster: MiniCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = open_instance(yarn_graph.home, monkeypatch)
    assert yarn_graph.refresh_status == "SUCCESS", failures(instance, yarn_graph.refresh_run_id)
    runs = instance.get_runs()
    assert len(runs) >= 2
    assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
    logged: dict[str, set[str]] = {}
    for run in runs:
        messages = [entry.user_message for entry in instance.all_logs(run.run_id)]
        logged[run.run_id] = {m.group(1) for text in messages if (m := LOG_LINE.search(text))}
        assert len(logged[run.run_id]) == 1, f"run {run.run_id}: {logged[run.run_id]}"
    assert yarn_graph.refresh_run_id in logged

    for key in (*PARTITIONED_ASSETS, *REFERENCE_ASSETS):
        records = instance.fetch_materializations(dg.AssetKey(key), limit=1000).records
        assert records, key
        for record in records:
            app_id = record.asset_materialization.metadata["spark_application_id"].value
            run_id = record.event_log_entry.run_id
            assert app_id in logged[run_id], (key, run_id, app_id)
    for app_id in set().union(*logged.values()):
        assert_succeeded_on_yarn(yarn_cluster, app_id)


def test_iceberg_metadata_and_data_files_are_on_hdfs(
    yarn_graph: YarnGraph, yarn_cluster: MiniCluster
) -> None:
    reader = LakehouseReader(warehouse=yarn_graph.warehouse, webhdfs_url=yarn_cluster.webhdfs_url)
    hdfs = webhdfs_io.webhdfs(yarn_cluster.webhdfs_url, webhdfs_io.hdfs_user())
    for spec in GOLD:
        files = reader.files(*spec.table)
        assert files, spec.asset
        for info in files:
            assert info.path.startswith(f"{yarn_graph.warehouse}/{spec.layer.value}/"), info.path
            assert hdfs.info(urlparse(info.path).path)["size"] == info.file_size_in_bytes
        folder = urlparse(f"{yarn_graph.warehouse}/{'/'.join(spec.table)}/metadata").path
        names = hdfs.ls(folder, detail=False)
        assert any(name.endswith(".metadata.json") for name in names), names


def test_gold_on_yarn_equals_local_mode_read_back_over_webhdfs(
    yarn_graph: YarnGraph, tmp_path: Path, open_meteo_server
) -> None:
    local_wh = tmp_path / "local"
    env = cli_env(local_wh, open_meteo_server.base_url, tmp_path / "home")
    run_materialize(env, REFERENCE)
    run_materialize(env, PARTITIONED, "...".join(d.isoformat() for d in BACKFILL))
    # The reader finds WebHDFS the way a Dagster process does: through HADOOP_CONF_DIR.
    hdfs_reader = LakehouseReader(warehouse=yarn_graph.warehouse)
    local_reader = LakehouseReader(warehouse=local_wh.as_uri())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HADOOP_CONF_DIR", yarn_graph.env["HADOOP_CONF_DIR"])
        on_yarn = {spec: reader_rows(hdfs_reader, spec) for spec in GOLD}
    for spec in GOLD:
        assert on_yarn[spec], f"{spec.asset} is empty"
        assert on_yarn[spec] == reader_rows(local_reader, spec), spec.asset


# -- faults on the cluster ---------------------------------------------------------------------
KILLED_DAYS = "2024-01-04...2024-01-05"
EXECUTOR_KILL_DAY = date(2024, 1, 6)
ENDED = ("FINISHED", "KILLED", "FAILED")
CONTAINER_LOG_DIR = re.compile(r"-Dspark\.yarn\.app\.container\.log\.dir=(\S+)")


def hdfs_files(cluster: MiniCluster, warehouse: str, spec: TableSpec) -> set[str]:
    """Every file under the table's data folder on HDFS, committed or not."""
    hdfs = webhdfs_io.webhdfs(cluster.webhdfs_url, webhdfs_io.hdfs_user())
    folder = urlparse(f"{warehouse}/{'/'.join(spec.table)}/data").path
    try:
        return {name.rsplit("/", 1)[-1] for name in hdfs.find(folder)}
    except FileNotFoundError:
        return set()


def new_application(cluster: MiniCluster, known: set[str]) -> str:
    """The one application submitted since `known` was taken."""
    [app_id] = [app["id"] for app in cluster.applications() if app["id"] not in known]
    return app_id


def start_run(env: dict[str, str], selection: str, days: str, log: Path) -> subprocess.Popen:
    """`dagster asset materialize` in its own process group (the run worker and its driver)."""
    with log.open("w") as out:
        return subprocess.Popen(
            materialize_command(selection, days),
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def test_run_worker_killed_mid_write_leaves_snapshots_and_no_yarn_application(
    yarn_graph: YarnGraph, yarn_cluster: MiniCluster, tmp_path: Path
) -> None:
    reader = LakehouseReader(warehouse=yarn_graph.warehouse, webhdfs_url=yarn_cluster.webhdfs_url)
    downstream = (FACT_HOURLY, FACT_CITY_DAILY, FACT_EPISODE)
    snapshots = {spec: reader.current_snapshot_id(*spec.table) for spec in downstream}
    rows = reader_rows(reader, FACT_HOURLY)
    known_apps = {app["id"] for app in yarn_cluster.applications()}
    known_files = hdfs_files(yarn_cluster, yarn_graph.warehouse, FACT_HOURLY)
    env = {**yarn_graph.env, "DAGSTER_HOME": str(tmp_path / "home")}
    (tmp_path / "home").mkdir()
    log = tmp_path / "killed-run.log"
    run = start_run(env, PARTITIONED, KILLED_DAYS, log)
    deadline = time.monotonic() + 900
    while run.poll() is None and time.monotonic() < deadline:
        if hdfs_files(yarn_cluster, yarn_graph.warehouse, FACT_HOURLY) - known_files:
            os.killpg(run.pid, signal.SIGKILL)
            break
        time.sleep(0.1)
    run.wait(timeout=60)
    assert run.returncode == -signal.SIGKILL, f"run ended before writing: {log.read_text()[-3000:]}"

    for spec, snapshot in snapshots.items():
        assert reader.current_snapshot_id(*spec.table) == snapshot, spec.asset
    assert reader_rows(reader, FACT_HOURLY) == rows
    committed = {Path(f.path).name for f in reader.files(*FACT_HOURLY.table)}
    written = hdfs_files(yarn_cluster, yarn_graph.warehouse, FACT_HOURLY)
    assert written - committed, "the kill landed while fact_hourly's files were being written"

    app_id = new_application(yarn_cluster, known_apps)
    wait_until(
        lambda: yarn_cluster.application(app_id)["state"] in ENDED,
        180,
        f"{app_id} did not end after its driver was killed",
    )
    wait_until(
        lambda: all(int(n["numContainers"]) == 0 for n in yarn_cluster.running_nodes()),
        120,
        f"containers of {app_id} still held",
    )
    wait_until(lambda: not yarn_cluster.container_pids(), 60, "container processes still alive")


def executor_processes(cluster: MiniCluster) -> dict[int, Path]:
    """Spark executor JVMs in containers, with the folder holding their container's logs."""
    found = {}
    for pid in cluster.container_pids():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        match = CONTAINER_LOG_DIR.search(cmdline)
        if "CoarseGrainedExecutorBackend" in cmdline and match:
            found[pid] = Path(match.group(1))
    return found


def test_executor_killed_mid_job_is_replaced_and_the_run_succeeds(
    yarn_cluster: MiniCluster, open_meteo_server, tmp_path: Path
) -> None:
    known_apps = {app["id"] for app in yarn_cluster.applications()}
    warehouse = f"{yarn_cluster.fs_uri}/executor-kill"
    env = yarn_env(yarn_cluster, warehouse, open_meteo_server.base_url, tmp_path / "home")
    log = tmp_path / "run.log"
    day = EXECUTOR_KILL_DAY.isoformat()
    selection = ",".join(spec.asset for spec in (BRONZE_RAW, SILVER_HOURLY, SILVER_REJECTS))
    run = start_run(env, selection, f"{day}...{day}", log)
    killed = None
    while run.poll() is None and killed is None:
        for pid, log_dir in executor_processes(yarn_cluster).items():
            stderr = log_dir / "stderr"
            if stderr.is_file() and "Got assigned task" in stderr.read_text(errors="replace"):
                os.kill(pid, signal.SIGKILL)
                killed = log_dir.name
        time.sleep(0.2)
    assert run.wait(timeout=900) == 0, log.read_text()[-4000:]
    assert killed, "the run ended before an executor ran a task"

    app_id = new_application(yarn_cluster, known_apps)
    assert_succeeded_on_yarn(yarn_cluster, app_id)
    executors = [name for name in yarn_cluster.container_logs(app_id) if not name.endswith("01")]
    assert killed in executors
    assert len(executors) >= 2, f"no executor replaced {killed}: {executors}"
    reader = LakehouseReader(warehouse=warehouse, webhdfs_url=yarn_cluster.webhdfs_url)
    hours = [
        row["ts_utc"]
        for row in reader.read_arrow(*SILVER_HOURLY.table, selected_fields=("ts_utc",)).to_pylist()
        if row["ts_utc"].date() == EXECUTOR_KILL_DAY
    ]
    assert len(hours) == 3 * 24
