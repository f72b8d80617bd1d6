"""Materialize the graph with `dagster asset materialize` in a fresh process, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from aqi_assets.catalog.registry import PARTITIONED_ASSETS, REFERENCE_ASSETS

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ",".join(REFERENCE_ASSETS)
PARTITIONED = ",".join(PARTITIONED_ASSETS)


def cli_env(warehouse: Path, server_url: str, home: Path, master: str = "local[2]") -> dict:
    """Environment of a CLI run: its own DAGSTER_HOME, warehouse, Spark master and local server."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "AQI_SPARK_MASTER": master,
        "AQI_WAREHOUSE": warehouse.as_uri(),
        "AQI_OPEN_METEO_URL": server_url,
        "DAGSTER_HOME": str(home),
        "AQI_SPARK_UI": "off",
        "PYSPARK_PYTHON": sys.executable,
    }


def materialize_command(selection: str, partition_range: str | None = None) -> list[str]:
    """`dagster asset materialize` of `selection`, for `FIRST...LAST` days when given."""
    dagster = str(Path(sys.executable).parent / "dagster")
    command = [dagster, "asset", "materialize", "-m", "aqi_assets.definitions", "--select"]
    command.append(selection)
    if partition_range:
        command += ["--partition-range", partition_range]
    return command


def run_materialize(env: dict, selection: str, partition_range: str | None = None) -> None:
    """Run one materialization to its end and fail the test with its output if it fails."""
    done = subprocess.run(
        materialize_command(selection, partition_range),
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
