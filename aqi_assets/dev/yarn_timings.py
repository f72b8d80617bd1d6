"""Time the same backfills and hourly refreshes on local Spark and on the YARN test cluster.

`python -m aqi_assets.dev.yarn_timings OUT.json` starts the local Open-Meteo server and the
Hadoop test cluster, then for each mode a `dagster dev` on a scratch instance, and launches what
a user launches: `aqi backfill` of one month and of three months as one run each, then two runs
of today's partition as the hourly automation requests them. On YARN it also reads, per Spark
application, the ResourceManager's submission and AM launch times and the first executor's
registration with the driver (its container log), i.e. what starting an application costs.
Results feed docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aqi_assets.catalog.registry import PARTITIONED_ASSETS
from aqi_assets.dev.dagster_dev import DagsterDev, launch_partition_run, wait_for_run
from aqi_assets.dev.local_open_meteo import LocalOpenMeteo
from aqi_assets.dev.minicluster import MiniCluster

BACKFILLS = (("1 month as one run", "2024-01-01", "2024-01-31"),)
BACKFILLS += (("3 months as one run", "2024-01-01", "2024-03-31"),)
REFRESHES = 2
LOG_TIME = re.compile(
    r"^(\d\d/\d\d/\d\d \d\d:\d\d:\d\d) .*Successfully registered with driver", re.M
)


def cpu_probe() -> float:
    """Seconds of a fixed CPU workload: how fast the shared machine is right now."""
    start = time.perf_counter()
    sum(i * i for i in range(3_000_000))
    return round(time.perf_counter() - start, 3)


def application_start(cluster: MiniCluster, app_id: str) -> dict[str, Any]:
    """Submission -> AM launch -> first executor registered, from the RM and container logs."""
    app = cluster.application(app_id)
    submitted = int(app["startedTime"]) / 1000
    registered = [
        datetime.strptime(m.group(1), "%y/%m/%d %H:%M:%S").replace(tzinfo=UTC).timestamp()
        for log in cluster.container_logs(app_id).values()
        if (m := LOG_TIME.search(log))
    ]
    return {
        "app_id": app_id,
        "final_status": app["finalStatus"],
        "am_launch_s": round(int(app["launchTime"]) / 1000 - submitted, 1),
        "first_executor_s": round(min(registered) - submitted, 1) if registered else None,
        "elapsed_s": round(int(app["elapsedTime"]) / 1000, 1),
    }


def measure(
    ui: DagsterDev, cluster: MiniCluster | None, backfills=BACKFILLS
) -> list[dict[str, Any]]:
    """Each backfill, then the hourly refreshes, timed from launch to done."""
    aqi = str(Path(sys.executable).parent / "aqi")
    rows: list[dict[str, Any]] = []

    def timed(what: str, work) -> None:
        known = {a["id"] for a in cluster.applications()} if cluster else set()
        start = time.monotonic()
        ok = work()
        row: dict[str, Any] = {"what": what, "wall_s": round(time.monotonic() - start, 1), "ok": ok}
        if cluster:
            new = [a["id"] for a in cluster.applications() if a["id"] not in known]
            row["applications"] = [application_start(cluster, app_id) for app_id in new]
        rows.append(row)
        print(json.dumps(row), flush=True)

    for what, first, last in backfills:
        command = [aqi, "backfill", first, last, "--single-run", "--url", ui.url, "--poll", "1"]
        timed(what, lambda c=command: subprocess.run(c, capture_output=True).returncode == 0)
    today = datetime.now(UTC).date().isoformat()
    for i in range(REFRESHES):
        timed(
            f"hourly refresh {i + 1}/{REFRESHES}",
            lambda: (
                wait_for_run(ui.url, launch_partition_run(ui.url, today, [*PARTITIONED_ASSETS]))
                == "SUCCESS"
            ),
        )
    return rows


def main() -> None:
    """Run both modes and write the results to OUT."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument(
        "--refresh-only",
        action="store_true",
        help="one day as one run (builds the dimensions the refresh checks), then the refreshes",
    )
    args = parser.parse_args()
    backfills = (
        (("1 day as one run", "2024-01-01", "2024-01-01"),) if args.refresh_only else BACKFILLS
    )
    result: dict[str, Any] = {"started": datetime.now(UTC).isoformat(), "cpu_before": cpu_probe()}
    with (
        tempfile.TemporaryDirectory(prefix="yarn-timings-") as scratch,
        LocalOpenMeteo() as server,
        MiniCluster(Path(scratch) / "hadoop") as cluster,
    ):
        common = {
            "AQI_OPEN_METEO_URL": server.base_url,
            "AQI_AUTOMATION": "off",
            "AQI_SPARK_UI": "off",
            "PYSPARK_PYTHON": sys.executable,
        }
        local_env = {**common, "AQI_WAREHOUSE": (Path(scratch) / "local-wh").as_uri()}
        yarn_env = {**common, **cluster.profile_env(f"{cluster.fs_uri}/lakehouse")}
        for mode, env, on in (("local", local_env, None), ("yarn", yarn_env, cluster)):
            workdir = Path(scratch) / mode
            workdir.mkdir()
            with DagsterDev(workdir, {**os.environ, **env}) as ui:
                result[mode] = measure(ui, on, backfills)
    result["cpu_after"] = cpu_probe()
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
