"""The cluster profile on a real YARN cluster with its Iceberg warehouse on HDFS.

One Hadoop test cluster (aqi_assets/dev/minicluster.py) serves the module: Spark runs in YARN
client mode from the Dagster processes, executors in NodeManager containers, every table on
HDFS, read back over WebHDFS.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from aqi_assets.dev.minicluster import MiniCluster
from aqi_assets_tests.cli_runs import ROOT
from aqi_assets_tests.yarn_cluster import yarn_env
from resources import webhdfs_io
from resources.lakehouse import LakehouseReader

pytestmark = pytest.mark.yarn
APP_ID = re.compile(r"application_\d+_\d+")

# A PySpark job through the code location's own cluster profile: the resource AQI_ENV=cluster
# builds, one Iceberg table written on HDFS.
SMOKE_JOB = """
from aqi_assets.profiles import spark_resource
from aqi_assets.settings import load_settings

resource = spark_resource(load_settings())
spark = resource.spark_session
print("APP", spark.sparkContext.applicationId, spark.sparkContext.master, flush=True)
table = resource.table("smoke", "squares")
spark.sql(f"CREATE TABLE {table} (n bigint, square bigint) USING iceberg")
spark.range(0, 1000, numPartitions=4).selectExpr("id AS n", "id * id AS square").writeTo(table).append()
spark.stop()
"""


def executor_ran_tasks(cluster: MiniCluster, app_id: str) -> bool:
    """Whether a container other than the application master ran Spark tasks."""
    logs = cluster.container_logs(app_id)
    return any("Got assigned task" in log for name, log in logs.items() if not name.endswith("01"))


def assert_succeeded_on_yarn(cluster: MiniCluster, app_id: str) -> None:
    """The application finished SUCCEEDED in the profile's queue, executors in containers."""
    app = cluster.application(app_id)
    assert (app["state"], app["finalStatus"]) == ("FINISHED", "SUCCEEDED"), app
    assert app["queue"] == "aqi", app
    assert app["applicationType"] == "SPARK", app
    assert executor_ran_tasks(cluster, app_id), f"no executor container of {app_id} ran a task"


def test_a_pyspark_job_on_yarn_writes_iceberg_on_hdfs(
    yarn_cluster: MiniCluster, tmp_path: Path
) -> None:
    warehouse = f"{yarn_cluster.fs_uri}/smoke-warehouse"
    env = yarn_env(yarn_cluster, warehouse, "http://127.0.0.1:9", tmp_path / "home")
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

    reader = LakehouseReader(warehouse=warehouse, webhdfs_url=yarn_cluster.webhdfs_url)
    rows = reader.read_arrow("smoke", "squares").to_pylist()
    assert sorted((r["n"], r["square"]) for r in rows) == [(n, n * n) for n in range(1000)]
    files = reader.files("smoke", "squares")
    assert files
    assert all(f.path.startswith(f"{yarn_cluster.fs_uri}/smoke-warehouse/") for f in files)
    hdfs = webhdfs_io.webhdfs(yarn_cluster.webhdfs_url, webhdfs_io.hdfs_user())
    metadata = hdfs.ls("/smoke-warehouse/smoke/squares/metadata", detail=False)
    assert any(name.endswith(".metadata.json") for name in metadata), metadata
