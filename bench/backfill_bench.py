"""Benchmark: the 22-month backfill and the hourly refresh, launched the way a user launches them.

For each location count it starts the local Open-Meteo server and `dagster dev` (webserver +
daemon) on a scratch DAGSTER_HOME and warehouse, runs `aqi backfill` over GraphQL, and records
wall time, runs launched, API calls and the peak memory (RSS) of the run processes (Python run
worker + its Spark driver JVM). A DuckDB script computing the same silver, daily and episode
tables in one process gives the reference floor. Results print as a table and land as JSON in
bench/results/.

    .venv/bin/python bench/backfill_bench.py                       # 3 and 100 locations
    .venv/bin/python bench/backfill_bench.py --locations 3 --skip-month
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from aqi_assets.cli import graphql, launch_backfill, watch
from aqi_assets.dev.dagster_dev import DagsterDev, launch_partition_run, wait_for_run
from aqi_assets.dev.local_open_meteo import LocalOpenMeteo
from bench.duckdb_reference import run_reference

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
RUNS_OF_BACKFILL = """
query Runs($id: String!) { runsOrError(filter: {tags: [{key: "dagster/backfill", value: $id}]}) {
  ... on Runs { results { runId status startTime endTime } } } }
"""

RUN_TIMES = "query Run($id: ID!) { runOrError(runId: $id) { ... on Run { startTime endTime } } }"
PARTITIONED = [
    "bronze_raw",
    "silver_hourly",
    "silver_rejects",
    "dim_date",
    "fact_hourly",
    "fact_city_daily",
    "fact_episode",
]


@dataclass
class Measure:
    """One launched backfill."""

    label: str
    locations: int
    first: str
    last: str
    wall_seconds: float
    runs: int
    api_calls: int
    peak_rss_mb: float
    status: str
    run_seconds: list[float] = field(default_factory=list)


def synthetic_locations(count: int, path: Path) -> Path:
    """`count` locations on a grid over South-East Asia (the first three are the shipped cities)."""
    shipped = json.loads((ROOT / "aqi_assets" / "data" / "locations.json").read_text())
    rows = shipped[:count]
    i = 0
    while len(rows) < count:
        lat, lon = 8.0 + (i % 10) * 1.5, 100.0 + (i // 10) * 1.2
        rows.append(
            {
                "location_key": f"loc{i:03d}",
                "location_name": f"Grid {i}",
                "latitude": lat,
                "longitude": lon,
            }
        )
        i += 1
    path.write_text(json.dumps(rows))
    return path


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                found.append(int(entry.name))
    return found


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class RunMemorySampler(threading.Thread):
    """Peak RSS of run workers (`dagster api execute_run` processes) plus all their descendants."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0.0
        self._stop = threading.Event()

    def _run_workers(self) -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
                except OSError:
                    continue
                if b"api execute_run" in cmd or b"api execute_step" in cmd:
                    pids.append(int(entry.name))
        return pids

    def run(self) -> None:
        while not self._stop.is_set():
            total = 0.0
            for pid in self._run_workers():
                stack = [pid]
                while stack:
                    current = stack.pop()
                    total += _rss_mb(current)
                    stack.extend(_children(current))
            self.peak = max(self.peak, total)
            time.sleep(0.5)

    def stop(self) -> float:
        self._stop.set()
        self.join()
        return self.peak


def backfill(
    ui: DagsterDev, server: LocalOpenMeteo, label: str, n: int, first: date, last: date
) -> Measure:
    """Launch one backfill of the whole graph and measure it."""
    server.reset_counters()
    sampler = RunMemorySampler()
    sampler.start()
    started = time.perf_counter()
    backfill_id = launch_backfill(ui.url, first, last, None, title=f"bench {label}")
    progress = watch(ui.url, backfill_id, poll_seconds=1.0, timeout_seconds=3 * 3600)
    wall = time.perf_counter() - started
    peak = sampler.stop()
    runs = graphql(ui.url, RUNS_OF_BACKFILL, {"id": backfill_id})["runsOrError"]["results"]
    durations = [
        round(r["endTime"] - r["startTime"], 1) for r in runs if r["endTime"] and r["startTime"]
    ]
    return Measure(
        label,
        n,
        first.isoformat(),
        last.isoformat(),
        round(wall, 1),
        len(runs),
        server.calls,
        round(peak, 1),
        progress.status,
        durations,
    )


def hourly_refresh(ui: DagsterDev, server: LocalOpenMeteo, n: int, day: date) -> Measure:
    """One run of the partitioned graph for `day`, launched as the hourly automation launches it."""
    server.reset_counters()
    sampler = RunMemorySampler()
    sampler.start()
    started = time.perf_counter()
    run_id = launch_partition_run(ui.url, day.isoformat(), PARTITIONED)
    status = wait_for_run(ui.url, run_id, timeout=1800)
    wall = time.perf_counter() - started
    peak = sampler.stop()
    run = graphql(ui.url, RUN_TIMES, {"id": run_id})["runOrError"]
    return Measure(
        "hourly refresh (today)",
        n,
        day.isoformat(),
        day.isoformat(),
        round(wall, 1),
        1,
        server.calls,
        round(peak, 1),
        status,
        [round(run["endTime"] - run["startTime"], 1)],
    )


def bench_locations(
    n: int, first: date, last: date, month: bool, hourly: bool, reference: bool
) -> dict:
    """Every measurement for `n` locations."""
    out: dict = {"locations": n, "measures": []}
    with tempfile.TemporaryDirectory(prefix=f"aqi-bench-{n}-") as tmp, LocalOpenMeteo() as server:
        work = Path(tmp)
        locations = synthetic_locations(n, work / "locations.json")
        env = {
            "AQI_OPEN_METEO_URL": server.base_url,
            "AQI_LOCATIONS_PATH": str(locations),
            "AQI_AUTOMATION": "off",
            "AQI_SPARK_UI": "off",
            "AQI_PARTITIONS_START": first.isoformat(),
        }
        if month:
            month_env = {**env, "AQI_WAREHOUSE": (work / "month" / "wh").as_uri()}
            with DagsterDev(work / "month", month_env) as ui:
                out["measures"].append(
                    asdict(
                        backfill(
                            ui,
                            server,
                            "backfill 1 month",
                            n,
                            first,
                            date(first.year, first.month, 28),
                        )
                    )
                )
        full_env = {**env, "AQI_WAREHOUSE": (work / "full" / "wh").as_uri()}
        with DagsterDev(work / "full", full_env) as ui:
            out["measures"].append(
                asdict(backfill(ui, server, "backfill 22 months", n, first, last))
            )
            if hourly:
                today = datetime.now(UTC).date()
                out["measures"].append(asdict(hourly_refresh(ui, server, n, today)))
        if reference:
            out["reference"] = run_reference(server.base_url, locations, first, last)
    return out


def render(results: list[dict]) -> str:
    """The results as a fixed-width table."""
    lines = [
        f"{'what':<28}{'locations':>10}{'wall s':>9}{'runs':>6}{'API calls':>10}{'peak MB':>9}  status"
    ]
    for result in results:
        for m in result["measures"]:
            lines.append(
                f"{m['label']:<28}{m['locations']:>10}{m['wall_seconds']:>9}{m['runs']:>6}{m['api_calls']:>10}"
                f"{m['peak_rss_mb']:>9}  {m['status']}"
            )
        if "reference" in result:
            ref = result["reference"]
            full = next(m for m in result["measures"] if m["label"] == "backfill 22 months")
            lines.append(
                f"{'duckdb reference (compute)':<28}{result['locations']:>10}{ref['compute_seconds']:>9}"
                f"{'':>6}{ref['api_calls']:>10}{'':>9}  pipeline/reference = "
                f"{full['wall_seconds'] / max(ref['compute_seconds'], 1e-3):.0f}x"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--locations", type=int, nargs="+", default=[3, 100])
    parser.add_argument("--start", type=date.fromisoformat, default=date(2024, 1, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2025, 10, 16))
    parser.add_argument(
        "--skip-month", action="store_true", help="skip the 1-month backfill (memory growth)"
    )
    parser.add_argument("--skip-hourly", action="store_true")
    parser.add_argument("--skip-reference", action="store_true")
    args = parser.parse_args()
    results = [
        bench_locations(
            n,
            args.start,
            args.end,
            not args.skip_month,
            not args.skip_hourly,
            not args.skip_reference,
        )
        for n in args.locations
    ]
    machine = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    table = render(results)
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    target = RESULTS / f"backfill-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    target.write_text(
        json.dumps({"machine": machine, "results": results, "table": table}, indent=2)
    )
    print(f"\nwritten {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
