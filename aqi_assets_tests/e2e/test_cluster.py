"""The same graph on a real Spark standalone cluster (master + 2 workers) equals a local[*] run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyspark
import pytest
import requests

from aqi_assets.catalog.registry import (
    DIM_DATE,
    DIM_LOCATION,
    FACT_CITY_DAILY,
    FACT_EPISODE,
    FACT_HOURLY,
)
from aqi_assets.dev.dagster_dev import free_port
from aqi_assets_tests.cli_runs import PARTITIONED, REFERENCE, cli_env, run_materialize
from aqi_assets_tests.readback import table_rows

pytestmark = pytest.mark.cluster
SPARK_CLASS = Path(pyspark.__file__).parent / "bin" / "spark-class"
GOLD = (FACT_HOURLY, FACT_CITY_DAILY, FACT_EPISODE, DIM_DATE, DIM_LOCATION)


def start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(
            [str(SPARK_CLASS), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


def wait_for_workers(ui: str, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            alive = [
                w
                for w in requests.get(f"{ui}/json/", timeout=2).json().get("workers", [])
                if w["state"] == "ALIVE"
            ]
            if len(alive) >= count:
                return
        except (requests.RequestException, ValueError):
            pass
        time.sleep(1)
    pytest.fail(f"Spark standalone cluster did not get {count} workers in {timeout}s")


@pytest.fixture
def standalone_cluster(tmp_path: Path) -> Iterator[str]:
    """A Spark master and two 1-core workers on 127.0.0.1; every process group is killed after."""
    env = {
        **os.environ,
        "SPARK_HOME": str(SPARK_CLASS.parents[1]),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
    }
    port, ui_port = free_port(), free_port()
    processes = [
        start(
            [
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--webui-port",
                str(ui_port),
            ],
            tmp_path / "master.log",
            env,
        )
    ]
    master = f"spark://127.0.0.1:{port}"
    try:
        for i in range(2):
            processes.append(
                start(
                    [
                        "org.apache.spark.deploy.worker.Worker",
                        master,
                        "--host",
                        "127.0.0.1",
                        "--cores",
                        "1",
                        "--memory",
                        "1g",
                        "--webui-port",
                        str(free_port()),
                        "--work-dir",
                        str(tmp_path / f"w{i}"),
                    ],
                    tmp_path / f"worker{i}.log",
                    env,
                )
            )
        wait_for_workers(f"http://127.0.0.1:{ui_port}", 2)
        yield master
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def materialize_with_cli(master: str, warehouse: Path, server_url: str, home: Path) -> None:
    """`dagster asset materialize` of the whole graph for 3 days, in a fresh process."""
    env = cli_env(warehouse, server_url, home, master)
    run_materialize(env, REFERENCE)
    run_materialize(env, PARTITIONED, "2024-01-01...2024-01-03")


def test_standalone_cluster_equals_local(
    standalone_cluster: str, tmp_path: Path, open_meteo_server
) -> None:
    cluster_wh, local_wh = tmp_path / "cluster_wh", tmp_path / "local_wh"
    materialize_with_cli(
        standalone_cluster, cluster_wh, open_meteo_server.base_url, tmp_path / "home_cluster"
    )
    materialize_with_cli("local[2]", local_wh, open_meteo_server.base_url, tmp_path / "home_local")
    for table in GOLD:
        cluster, local = table_rows(cluster_wh, table), table_rows(local_wh, table)
        assert cluster == local, table
        assert cluster, f"{table} is empty"
