"""End to end: the Dagster UI + daemon process, `aqi backfill` over GraphQL, tables checked after."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from resources.lakehouse import LakehouseReader

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_ui(url: str, process: subprocess.Popen, log: Path, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster dev exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(f"{url}/server_info", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    pytest.fail(f"Dagster UI not up after {timeout}s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def dagster_ui(tmp_path: Path, open_meteo_server) -> Iterator[tuple[str, Path]]:
    """`dagster dev` in its own process group on a free port; the whole group is stopped after."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    warehouse = tmp_path / "warehouse"
    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "AQI_WAREHOUSE": warehouse.as_uri(),
        "AQI_OPEN_METEO_URL": open_meteo_server.base_url,
        "AQI_AUTOMATION": "off",
        "AQI_SPARK_UI": "off",
    }
    log = tmp_path / "dagster.log"
    dagster = Path(sys.executable).parent / "dagster"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                str(dagster),
                "dev",
                "-w",
                str(ROOT / "workspace.yaml"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_ui(url, process, log)
        yield url, warehouse
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def test_aqi_backfill_builds_the_gold_tables(dagster_ui) -> None:
    url, warehouse = dagster_ui
    aqi = Path(sys.executable).parent / "aqi"
    done = subprocess.run(
        [
            str(aqi),
            "backfill",
            "2024-01-01",
            "2024-01-03",
            "--url",
            url,
            "--poll",
            "1",
            "--timeout",
            "900",
        ],
        capture_output=True,
        text=True,
        timeout=1000,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "partitions, 0 failed, COMPLETED" in done.stderr
    reader = LakehouseReader(warehouse=warehouse.as_uri())
    assert reader.row_count("gold", "fact_air_quality_hourly") == 216
    assert reader.row_count("gold", "fact_city_daily") == 9
    assert reader.row_count("gold", "dim_location") == 3
    assert reader.table_exists("gold", "fact_episode")


def test_aqi_backfill_fails_clearly_without_a_ui() -> None:
    aqi = Path(sys.executable).parent / "aqi"
    done = subprocess.run(
        [
            str(aqi),
            "backfill",
            "2024-01-01",
            "2024-01-03",
            "--url",
            f"http://127.0.0.1:{free_port()}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Cannot reach the Dagster UI" in done.stderr
