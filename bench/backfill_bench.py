"""Benchmark: the 22-month backfill and the hourly refresh, launched the way a user launches them.

For each location count it starts the local Open-Meteo server and `dagster dev` (webserver +
daemon) on a scratch DAGSTER_HOME and warehouse, then on that one instance runs `aqi backfill`
for 1 month (fresh: the reference dimensions are built too), `aqi backfill` for the 22 months
(the dimensions exist, so one run), the same 22 months again as `aqi backfill --single-run` (the
UI's "Launch as: Single run", which skips the backfill daemon's 30 s tick) and three runs of
today's partition as the hourly automation launches it. It records wall time, runs, API calls
and the peak RSS of the Spark driver JVMs plus their Python run workers. Two floors put the
figures in context: a DuckDB script computing the same silver, daily and episode tables in one
process, and Dagster's own bookkeeping for a no-op run over the same partitions. Results print as a table and land as JSON in bench/results/.

    .venv/bin/python bench/backfill_bench.py                       # 3 and 100 locations
    .venv/bin/python bench/backfill_bench.py --locations 3 --skip-month
    # the instance storages compared, interleaved round by round (docs/performance.md):
    .venv/bin/python bench/backfill_bench.py --locations 3 --skip-month --skip-hourly \
        --skip-reference --skip-floor --instances project stock-sqlite postgres --rounds 3
    # Dagster's bookkeeping alone on each instance (bench/bench_instances.py names them):
    .venv/bin/python bench/backfill_bench.py --locations --instances project postgres-stock \
        postgres --rounds 3
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from statistics import median
from unittest import mock

import dagster as dg

from aqi_assets.catalog.registry import FACT_AQI_FORECAST, PARTITIONED_ASSETS
from aqi_assets.cli.backfill import (
    FAILURE,
    SUCCESS,
    backfill_progress,
    launch_backfill,
    launch_range_run,
)
from aqi_assets.cli.graphql_queries import DagsterApi, RunInfo
from aqi_assets.cli.progress import follow, watch
from aqi_assets.dev.dagster_dev import DagsterDev, launch_partition_run, wait_for_run
from aqi_assets.dev.local_open_meteo import LocalOpenMeteo
from aqi_assets.orchestration.jobs import LAKEHOUSE_JOB
from bench.bench_instances import INSTANCES, instance_setup
from bench.duckdb_reference import run_reference
from resources.spark.run_tags import RANGE_END_TAG, RANGE_START_TAG

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SINGLE_RUN_LABEL = "22 months as one run"
MONTH_RUN_LABEL = "1 month as one run"
# The machine's speed drifts between minutes: the hourly refresh is measured three times.
HOURLY_REPEATS = 3


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
    status: str
    run_seconds: list[float]
    before_first_run_s: float
    after_last_run_s: float
    peak_rss_mb: float
    peak_jvm_mb: float
    peak_python_mb: float
    largest_run_mb: float


def cpu_calibration() -> float:
    """Seconds for a fixed single-core workload (Python loop + SHA-256 of 512 MB).

    This machine's speed differs by up to 3x between days; dividing a figure by this one
    makes benchmark results from different days comparable.
    """
    started = time.perf_counter()
    total = 0
    for i in range(15_000_000):
        total += i % 7
    digest = hashlib.sha256()
    block = bytes(1 << 20)
    for _ in range(512):
        digest.update(block)
    return round(time.perf_counter() - started, 2)


def synthetic_locations(count: int, path: Path) -> Path:
    """`count` locations on a grid over South-East Asia (the first three are the shipped cities)."""
    shipped = json.loads((ROOT / "aqi_assets" / "config" / "data" / "locations.json").read_text())
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
                "time_zone": "Asia/Ho_Chi_Minh",
            }
        )
        i += 1
    path.write_text(json.dumps(rows))
    return path


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class RunMemorySampler(threading.Thread):
    """Peak RSS of the runs' Spark driver JVMs plus the Python run workers that started them."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0.0
        self.peak_jvm = 0.0
        self.peak_python = 0.0
        self.largest_run = 0.0
        self._halt = threading.Event()

    @staticmethod
    def _driver_jvms() -> list[int]:
        """PIDs of Spark driver JVMs, leaving out their children.

        A JVM that forks (Hadoop's local file system shells out to `chmod`/`stat`) briefly has a
        child with the same command line and an RSS that shares the parent's pages; counting it
        would double the JVM and count it again as "Python".
        """
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    cmd = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                if b"org.apache.spark.deploy.SparkSubmit" in cmd:
                    found.append(int(entry.name))
        drivers = set(found)
        return [pid for pid in found if _parent(pid) not in drivers]

    def run(self) -> None:
        while not self._halt.is_set():
            jvms = self._driver_jvms()
            runs = [(_rss_mb(pid), _rss_mb(_parent(pid))) for pid in jvms]
            jvm = sum(j for j, _ in runs)
            python = sum(p for _, p in runs)
            self.largest_run = max([self.largest_run, *(j + p for j, p in runs)])
            self.peak = max(self.peak, jvm + python)
            self.peak_jvm = max(self.peak_jvm, jvm)
            self.peak_python = max(self.peak_python, python)
            time.sleep(0.5)

    def stop(self) -> dict[str, float]:
        """Stop sampling; peaks in MB (total, JVMs, Python workers, the largest single run)."""
        self._halt.set()
        self.join()
        return {
            "peak_rss_mb": round(self.peak, 1),
            "peak_jvm_mb": round(self.peak_jvm, 1),
            "peak_python_mb": round(self.peak_python, 1),
            "largest_run_mb": round(self.largest_run, 1),
        }


def _idle(started: float, finished: float, runs: list[RunInfo]) -> tuple[float, float]:
    """Seconds from the launch to the first run's start, and from the last run's end to done."""
    if not runs:
        return 0.0, 0.0
    first_start = min(r.start_time for r in runs)
    last_end = max(r.end_time for r in runs)
    return round(first_start - started, 1), round(finished - last_end, 1)


def backfill(
    ui: DagsterDev,
    server: LocalOpenMeteo,
    label: str,
    n: int,
    first: date,
    last: date,
    single_run: bool = False,
) -> Measure:
    """Launch one backfill of the whole graph (or one run over the range) and measure it."""
    server.reset_counters()
    sampler = RunMemorySampler()
    sampler.start()
    api = DagsterApi(ui.url)
    started = time.time()
    if single_run:
        run = launch_range_run(api, first, last, None)
        progress = follow(run.progress, label, poll_seconds=1.0, timeout_seconds=3 * 3600)
    else:
        backfill_id = launch_backfill(api, first, last, None, title=f"bench {label}")
        progress = watch(api, backfill_id, poll_seconds=1.0, timeout_seconds=3 * 3600)
    finished = time.time()
    peak = sampler.stop()
    if single_run:
        runs = [api.run(run.run_id)]
    else:
        settle(api, backfill_id)
        runs = api.runs(backfill_id)
    timed = [r for r in runs if r.end_time and r.start_time]
    durations = [round(r.end_time - r.start_time, 1) for r in timed]
    return Measure(
        label,
        n,
        first.isoformat(),
        last.isoformat(),
        round(finished - started, 1),
        len(runs),
        server.calls,
        "SUCCESS" if progress.succeeded else progress.status,
        durations,
        *_idle(started, finished, timed),
        **peak,
    )


def settle(api: DagsterApi, backfill_id: str, timeout: float = 300) -> None:
    """Wait until the daemon has closed the backfill's books.

    `aqi backfill` returns as soon as every partition is in; the daemon marks the backfill done on
    its next tick, evaluating all of its partitions, which would compete with the next
    measurement for the 2 cores.
    """
    deadline = time.monotonic() + timeout
    while backfill_progress(api, backfill_id).status not in SUCCESS | FAILURE:
        if time.monotonic() > deadline:
            raise TimeoutError(f"backfill {backfill_id} not closed after {timeout:.0f} s")
        time.sleep(1)


def hourly_refresh(
    ui: DagsterDev,
    server: LocalOpenMeteo,
    n: int,
    day: date,
    label: str,
    first: date | None = None,
    forecast: bool = False,
) -> Measure:
    """One run of the partitioned graph for first..`day` (default `day` alone), in one process.

    With `forecast` the run also builds fact_aqi_forecast: first=yesterday is what the hourly
    refresh does while yesterday is not final (ingest_open_days, then hourly_refresh downstream).
    """
    server.reset_counters()
    sampler = RunMemorySampler()
    sampler.start()
    started = time.time()
    assets = [*PARTITIONED_ASSETS, *([FACT_AQI_FORECAST.asset] if forecast else [])]
    if first is None:
        run_id = launch_partition_run(ui.url, day.isoformat(), assets)
    else:
        tags = {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: day.isoformat()}
        run_id = DagsterApi(ui.url).launch_run(LAKEHOUSE_JOB, assets, tags)
    status = wait_for_run(ui.url, run_id, timeout=1800)
    finished = time.time()
    peak = sampler.stop()
    run = DagsterApi(ui.url).run(run_id)
    return Measure(
        label,
        n,
        (first or day).isoformat(),
        day.isoformat(),
        round(finished - started, 1),
        1,
        server.calls,
        status,
        [round(run.end_time - run.start_time, 1)],
        *_idle(started, finished, [run]),
        **peak,
    )


def dagster_floor(first: date, last: date, instance: str = "project") -> float:
    """Seconds Dagster alone needs to record a single-run backfill of our partitioned graph.

    Seven no-op daily-partitioned assets (as many as the graph has), one run over first..last on
    an instance configured by the project's dagster.yaml: only the per-partition planned and
    materialization events are left, the cost no Spark tuning can remove.
    """
    partitions = dg.DailyPartitionsDefinition(
        start_date=first.isoformat(), end_date=(last + timedelta(days=1)).isoformat()
    )
    assets, upstream = [], None
    for key in PARTITIONED_ASSETS:

        @dg.asset(
            name=key,
            deps=[upstream] if upstream else [],
            partitions_def=partitions,
            backfill_policy=dg.BackfillPolicy.single_run(),
        )
        def noop() -> dg.MaterializeResult:
            return dg.MaterializeResult(metadata={"dagster/row_count": 0})

        assets.append(noop)
        upstream = key
    with (
        tempfile.TemporaryDirectory(prefix="aqi-floor-") as home,
        instance_setup(instance, Path(home)) as (instance_config, instance_env),
        # Restores the environment after, including what a storage sets for its own process.
        mock.patch.dict(os.environ, {"DAGSTER_HOME": home, **instance_env}),
    ):
        shutil.copy(instance_config, Path(home) / "dagster.yaml")
        instance = dg.DagsterInstance.from_config(home)
        started = time.perf_counter()
        dg.materialize(
            assets,
            instance=instance,
            tags={
                RANGE_START_TAG: first.isoformat(),
                RANGE_END_TAG: last.isoformat(),
            },
        )
        return round(time.perf_counter() - started, 1)


def bench_locations(
    n: int,
    first: date,
    last: date,
    month: bool,
    hourly: bool,
    reference: bool,
    instance: str = "project",
) -> dict:
    """Every measurement for `n` locations, on one instance: 1 month, 22 months, today."""
    out: dict = {"locations": n, "instance": instance, "measures": []}
    with (
        tempfile.TemporaryDirectory(prefix=f"aqi-bench-{n}-") as tmp,
        LocalOpenMeteo() as server,
        instance_setup(instance, Path(tmp)) as (instance_config, instance_env),
    ):
        work = Path(tmp)
        env = {
            **instance_env,
            "AQI_OPEN_METEO_URL": server.base_url,
            "AQI_LOCATIONS_PATH": str(synthetic_locations(n, work / "locations.json")),
            "AQI_AUTOMATION": "off",
            "AQI_SPARK_UI": "off",
            "AQI_PARTITIONS_START": first.isoformat(),
            "AQI_WAREHOUSE": (work / "warehouse").as_uri(),
        }
        with DagsterDev(work, env, instance_config=instance_config) as ui:
            if month:
                month_end = date(first.year, first.month, 28)
                measure = backfill(ui, server, "backfill 1 month", n, first, month_end)
                out["measures"].append(asdict(measure))
                # The backfill splits the graph over runs; one run of the whole graph over the
                # month compares like for like with the 22-month single run.
                measure = backfill(
                    ui, server, MONTH_RUN_LABEL, n, first, month_end, single_run=True
                )
                out["measures"].append(asdict(measure))
            measure = backfill(ui, server, "backfill 22 months", n, first, last)
            out["measures"].append(asdict(measure))
            measure = backfill(ui, server, SINGLE_RUN_LABEL, n, first, last, single_run=True)
            out["measures"].append(asdict(measure))
            if hourly:
                today = datetime.now(UTC).date()
                for k in range(1, HOURLY_REPEATS + 1):
                    label = f"hourly refresh {k}/{HOURLY_REPEATS}"
                    out["measures"].append(asdict(hourly_refresh(ui, server, n, today, label)))
                    label = f"hourly 2 days+forecast {k}/{HOURLY_REPEATS}"
                    yesterday = today - timedelta(days=1)
                    measure = hourly_refresh(ui, server, n, today, label, yesterday, forecast=True)
                    out["measures"].append(asdict(measure))
        if reference:
            out["reference"] = run_reference(server.base_url, work / "locations.json", first, last)
    return out


def render(results: list[dict]) -> str:
    """The results as a fixed-width table."""
    lines = [
        f"{'what':<28}{'locations':>10}{'wall s':>9}{'runs':>6}{'API calls':>10}{'peak MB':>9}"
        f"{'JVM MB':>8}{'Python MB':>10}{'1 run MB':>9}{'wait s':>8}{'tail s':>8}  status"
    ]
    for result in results:
        if result.get("instance", "project") != "project":
            lines.append(f"-- instance: {result['instance']}")
        for m in result["measures"]:
            lines.append(
                f"{m['label']:<28}{m['locations']:>10}{m['wall_seconds']:>9}{m['runs']:>6}{m['api_calls']:>10}"
                f"{m['peak_rss_mb']:>9}{m['peak_jvm_mb']:>8}{m['peak_python_mb']:>10}{m['largest_run_mb']:>9}"
                f"{m['before_first_run_s']:>8}{m['after_last_run_s']:>8}  {m['status']}"
            )
        by_label = {m["label"]: m for m in result["measures"]}
        pairs = {
            "(whole graph, one run each)": (MONTH_RUN_LABEL, SINGLE_RUN_LABEL),
            "(backfills, all their runs)": ("backfill 1 month", "backfill 22 months"),
        }
        for what, (short, long) in pairs.items():
            if {short, long} <= by_label.keys():
                ratio = by_label[long]["peak_rss_mb"] / max(by_label[short]["peak_rss_mb"], 1)
                lines.append(
                    f"{'memory growth 1 -> 22 months':<28}{result['locations']:>10}{ratio:>9.2f}x  "
                    f"{what}"
                )
        if "reference" in result:
            ref = result["reference"]
            full = next(m for m in result["measures"] if m["label"] == "backfill 22 months")
            lines.append(
                f"{'duckdb reference (compute)':<28}{result['locations']:>10}{ref['compute_seconds']:>9}"
                f"{'':>6}{ref['api_calls']:>10}{'':>9}  pipeline/reference = "
                f"{full['wall_seconds'] / max(ref['compute_seconds'], 1e-3):.0f}x"
            )
            lines.append(
                f"{'local API fetch (same range)':<28}{result['locations']:>10}"
                f"{ref['fetch_seconds']:>9}  (the test server generating the data, inside every backfill)"
            )
    return "\n".join(lines)


def render_instances(results: list[dict]) -> str:
    """Median wall seconds per instance and measure over the rounds, and each one's ratio to
    the fastest instance of that measure."""
    walls: dict[tuple[str, int], dict[str, list[float]]] = {}
    for result in results:
        for m in result["measures"]:
            per_instance = walls.setdefault((m["label"], result["locations"]), {})
            per_instance.setdefault(result.get("instance", "project"), []).append(m["wall_seconds"])
    lines = [
        f"{'median wall s (rounds)':<28}{'locations':>10}  instance: median [each round] ratio"
    ]
    for (label, n), per_instance in walls.items():
        medians = {name: median(values) for name, values in per_instance.items()}
        best = min(medians.values())
        for name, values in per_instance.items():
            lines.append(
                f"{label:<28}{n:>10}  {name}: {medians[name]:.1f} {values} "
                f"{medians[name] / best:.2f}x"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--locations", type=int, nargs="*", default=[3, 100])
    parser.add_argument("--start", type=date.fromisoformat, default=date(2024, 1, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2025, 10, 16))
    parser.add_argument(
        "--skip-month",
        action="store_true",
        help="skip the 1-month backfill and run (memory growth)",
    )
    parser.add_argument("--skip-hourly", action="store_true")
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--skip-floor", action="store_true", help="skip the no-op Dagster run")
    parser.add_argument(
        "--instances",
        nargs="+",
        choices=INSTANCES,
        default=["project"],
        help="instance storages to measure, each on its own instance, interleaved per round",
    )
    parser.add_argument("--rounds", type=int, default=1, help="repeat every measurement")
    args = parser.parse_args()
    dagster_env = {
        k: v for k, v in os.environ.items() if k.startswith(("DAGSTER_EMIT", "DAGSTER_EVENT"))
    }
    calibration_before = cpu_calibration()
    results: list[dict] = []
    partial = RESULTS / f"backfill-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-partial.json"
    for _ in range(args.rounds):
        for n in args.locations:
            for instance in args.instances:
                results.append(
                    bench_locations(
                        n,
                        args.start,
                        args.end,
                        not args.skip_month,
                        not args.skip_hourly,
                        not args.skip_reference,
                        instance,
                    )
                )
                # A long comparison keeps what it measured if it is stopped before the end.
                RESULTS.mkdir(parents=True, exist_ok=True)
                partial.write_text(json.dumps({"results": results}, indent=2))
    floors: dict[str, list[float]] = {}
    for _ in range(0 if args.skip_floor else args.rounds):
        for instance in args.instances:
            floor = dagster_floor(args.start, args.end, instance)
            floors.setdefault(instance, []).append(floor)
    machine = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "dagster_env": dagster_env,
        "cpu_calibration_s": [calibration_before, cpu_calibration()],
    }
    table = render(results)
    if len(args.instances) > 1 or args.rounds > 1:
        table += "\n" + render_instances(results)
    for instance, values in floors.items():
        table += (
            f"\n{'dagster bookkeeping floor':<28}{'':>10}{median(values):>9}  {values} (7 no-op "
            f"assets x {(args.end - args.start).days + 1} daily partitions, one run, {instance})"
        )
    table += (
        f"\nmachine: {os.cpu_count()} cores; fixed CPU workload {machine['cpu_calibration_s'][0]} s "
        f"before, {machine['cpu_calibration_s'][1]} s after (bench.backfill_bench.cpu_calibration)"
    )
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    target = RESULTS / f"backfill-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    target.write_text(
        json.dumps(
            {"machine": machine, "results": results, "dagster_floor_s": floors, "table": table},
            indent=2,
        )
    )
    partial.unlink(missing_ok=True)
    print(f"\nwritten {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
