"""Simulated hours of the code location: one clock for the local server, the sensor, the automation
and the crons, every requested run executed in-process, growth figures sampled per hour.

Only public surfaces are driven (the `ingest_open_days` sensor built with a clock and evaluated
with `dg.build_sensor_context`, `dg.evaluate_automation_conditions` with an evaluation time, jobs
of the Definitions executed in-process with each request's selection and partition tags), so the
harness keeps working however the sensor and the automation shape their requests.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg

from aqi_assets.dev.local_open_meteo import LocalOpenMeteo
from aqi_assets.ingest.open_days_sensor import open_days_sensor, ranges
from aqi_assets.orchestration.maintenance import MAINTENANCE_CRON
from resources.spark.pyspark_compat import driver_scratch_folders_after_gc
from resources.spark.run_tags import PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG

# Drain the automation after runs: each evaluation may request the next layer down.
MAX_DRAIN_EVALUATIONS = 8
PAGE_SIZE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
# The ContextCleaner deletes collected shuffles' files in its own thread, just after a GC.
CLEANER_WAIT_SECONDS = 2.0


class SimClock:
    """The one clock of a simulation: `clock()` is now; `set` moves the local server with it."""

    def __init__(self, server: LocalOpenMeteo, start: datetime) -> None:
        self.server = server
        self.now = start
        server.clock.set(start)

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        """Move the simulated time forward (never back: crons and cursors assume it)."""
        if now < self.now:
            raise ValueError(f"the simulated clock cannot go back from {self.now} to {now}")
        self.now = now
        self.server.clock.set(now)


def daily_cron_passed(cron: str, before: datetime, now: datetime) -> bool:
    """Whether a daily `M H * * *` cron (UTC) fires in (before, now]."""
    minute, hour, *rest = cron.split()
    if rest != ["*", "*", "*"]:
        raise ValueError(f"{cron!r} is not a daily cron; the simulation only steps daily ones")
    day = before.date()
    while day <= now.date():
        fire = datetime(day.year, day.month, day.day, int(hour), int(minute), tzinfo=UTC)
        if before < fire <= now:
            return True
        day += timedelta(days=1)
    return False


@dataclass
class RunDone:
    """One executed run: who asked, at which simulated instant, whether it succeeded."""

    origin: str
    at: datetime
    run_id: str
    success: bool
    assets: tuple[str, ...]
    tags: dict[str, str]
    seconds: float


@dataclass
class HourFigures:
    """Growth figures sampled at the end of one simulated hour."""

    hour: datetime
    runs: int
    event_rows: int
    python_rss_mb: float
    jvm_rss_mb: float
    temp_entries: int
    spark_local_files: int


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB (from /proc; 0 when it is gone)."""
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * PAGE_SIZE_KB / 1024


def child_pids(parent: int) -> list[int]:
    """Direct children of `parent` (the Spark driver's JVM is one of this process's)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            children.append(int(stat.parent.name))
    return children


def spark_local_files() -> int:
    """Files under this process's Spark driver's scratch folders (block manager and user files,
    under the temp directory by default): what the runs leave there, attributable to them even
    when other processes write to the temp directory too."""
    from pyspark import SparkFiles

    # Shuffle files go when the driver's ContextCleaner sees their shuffle collected: a GC
    # first, so the count is what the runs still hold, not what the last GC had not reached.
    folders = driver_scratch_folders_after_gc()
    if folders is None:
        return 0
    time.sleep(CLEANER_WAIT_SECONDS)
    roots = [Path(folder) for folder in folders]
    roots.append(Path(SparkFiles.getRootDirectory()).parent)
    return sum(1 for root in roots for path in _walk(root) if path.is_file())


def temp_listing(ignore: Iterable[str] = ()) -> set[str]:
    """Every path under the system temp directory, except the subtrees named in `ignore`
    (top-level names or prefixes: pytest's own tmp, the tool's job folders)."""
    root = Path(tempfile.gettempdir())
    found: set[str] = set()
    prefixes = tuple(ignore)
    for top in root.iterdir() if root.is_dir() else ():
        if top.name.startswith(prefixes):
            continue
        found.add(top.name)
        if top.is_dir() and not top.is_symlink():
            for path in _walk(top):
                found.add(str(path.relative_to(root)))
    return found


def _walk(folder: Path) -> Iterator[Path]:
    try:
        for dirpath, dirnames, filenames in os.walk(folder, onerror=lambda e: None):
            for name in [*dirnames, *filenames]:
                yield Path(dirpath) / name
    except OSError:
        return


@dataclass
class Simulation:
    """Drives `defs` on `instance`: the sensor hourly, the automation, the crons; runs in-process."""

    defs: dg.Definitions
    instance: dg.DagsterInstance
    clock: SimClock
    maintenance_config: dict[str, object]
    runs: list[RunDone] = field(default_factory=list)
    hours: list[HourFigures] = field(default_factory=list)
    sensor_cursor: str | None = None
    automation_cursor: object | None = None
    run_keys: set[str] = field(default_factory=set)
    temp_ignore: tuple[str, ...] = ()
    first_day_temp: set[str] = field(default_factory=set)
    _last_cron_check: datetime | None = None

    def __post_init__(self) -> None:
        graph = self.defs.resolve_asset_graph()
        self._order = {key: i for i, key in enumerate(graph.toposorted_asset_keys)}
        self._partitioned = {key for key in self._order if graph.get(key).is_partitioned}
        self._sensor = open_days_sensor(running=True, clock=self.clock)
        self._temp_before = temp_listing(self.temp_ignore)
        self._last_cron_check = self.clock.now

    # --- one simulated hour -------------------------------------------------------------------

    def hour(self, start: datetime) -> HourFigures:
        """One hour from `start`: the sensor at :05, the automation drained twice, the crons, figures."""
        runs_before = len(self.runs)
        self.advance(start + timedelta(minutes=5))
        self.sensor_tick()
        self.drain(start + timedelta(minutes=6))
        # A later evaluation in the hour: nothing the refresh built should be requested again.
        self.advance(start + timedelta(minutes=35))
        self.drain(self.clock.now)
        figures = self.sample(start, self.runs[runs_before:])
        self.hours.append(figures)
        return figures

    def advance(self, now: datetime) -> None:
        """Move the clock; run the maintenance job when its cron passed on the way."""
        previous = self._last_cron_check or self.clock.now
        self.clock.set(now)
        self._last_cron_check = now
        if daily_cron_passed(MAINTENANCE_CRON, previous, now):
            self.maintenance()

    # --- the three kinds of requester ---------------------------------------------------------

    def sensor_tick(self) -> None:
        """Evaluate the real ingest sensor at the clock's now and execute its run requests."""
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.sensor_cursor,
            resources={"open_meteo": self.defs.resources["open_meteo"]},
        )
        result = self._sensor(context)
        self.sensor_cursor = result.cursor
        for request in result.run_requests or []:
            # The daemon launches a run key once; a repeated key is skipped, as there.
            if request.run_key and request.run_key in self.run_keys:
                continue
            if request.run_key:
                self.run_keys.add(request.run_key)
            job = self.defs.resolve_job_def(request.job_name or self._sensor.job_name)
            self.execute(
                "sensor",
                job,
                request.asset_selection,
                dict(request.tags),
                request.partition_key,
            )

    def drain(self, at: datetime) -> None:
        """Evaluate the automation minute by minute from `at` until it requests nothing."""
        for step in range(MAX_DRAIN_EVALUATIONS):
            self.clock.set(max(self.clock.now, at + timedelta(minutes=step)))
            result = dg.evaluate_automation_conditions(
                defs=self.defs,
                instance=self.instance,
                # Assets only: the `data_freshness` checks (WARN, instance reads) are left out.
                asset_selection=dg.AssetSelection.all(include_sources=False),
                evaluation_time=self.clock.now,
                cursor=self.automation_cursor,
            )
            self.automation_cursor = result.cursor
            requests = self.automation_requests(result)
            if not requests:
                return
            for assets, tags in requests:
                self.execute(
                    "automation", self.defs.resolve_implicit_global_asset_job_def(), assets, tags
                )
        raise AssertionError(f"the automation still requests runs after {MAX_DRAIN_EVALUATIONS}")

    def automation_requests(
        self, result: dg.EvaluateAutomationConditionsResult
    ) -> list[tuple[list[dg.AssetKey], dict[str, str]]]:
        """Runs as the automation daemon would launch them, in dependency order.

        Unpartitioned assets go in one run; partitioned assets requested for the same days go in
        one run per range of consecutive days (the assets' single-run backfill policy).
        """
        by_days: dict[frozenset[str], list[dg.AssetKey]] = {}
        unpartitioned = []
        for key in self._order:
            parts = result.get_requested_partitions(key)
            if not parts:
                continue
            if key in self._partitioned:
                by_days.setdefault(frozenset(p for p in parts if p), []).append(key)
            else:
                unpartitioned.append(key)
        requests = []
        for days, keys in by_days.items():
            for first, last in ranges([date.fromisoformat(d) for d in days]):
                tags = {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}
                requests.append((keys, tags))
        if unpartitioned:
            requests.append((unpartitioned, {}))
        return sorted(requests, key=lambda r: min(self._order[k] for k in r[0]))

    def maintenance(self) -> None:
        """The `iceberg_maintenance` job, as its schedule launches it at 03:30."""
        job = self.defs.resolve_job_def("iceberg_maintenance")
        ops = {node.name: {"config": self.maintenance_config} for node in job.graph.nodes}
        self.execute("maintenance", job, None, {}, run_config={"ops": ops})

    def execute(
        self,
        origin: str,
        job: dg.JobDefinition,
        assets: Iterable[dg.AssetKey] | None,
        tags: dict[str, str],
        partition_key: str | None = None,
        run_config: dict | None = None,
    ) -> RunDone:
        """Execute one run in this process (shared Spark session), recording its outcome."""
        if partition_key:
            tags = {**tags, PARTITION_TAG: partition_key}
        started = time.monotonic()
        result = job.execute_in_process(
            run_config=run_config,
            instance=self.instance,
            asset_selection=list(assets) if assets is not None else None,
            tags=tags,
            raise_on_error=False,
        )
        done = RunDone(
            origin=origin,
            at=self.clock.now,
            run_id=result.run_id,
            success=result.success,
            assets=tuple(k.to_user_string() for k in assets or ()),
            tags={k: v for k, v in tags.items() if k.startswith(("dagster/", "aqi/"))},
            seconds=round(time.monotonic() - started, 1),
        )
        self.runs.append(done)
        return done

    # --- growth figures -----------------------------------------------------------------------

    def sample(self, hour: datetime, runs: list[RunDone]) -> HourFigures:
        """Event-log rows the hour's runs wrote, memory of this process and its JVM, temp files."""
        rows = sum(len(self.instance.all_logs(run.run_id)) for run in runs)
        me = os.getpid()
        jvm = sum(rss_mb(pid) for pid in child_pids(me))
        return HourFigures(
            hour=hour,
            runs=len(runs),
            event_rows=rows,
            python_rss_mb=round(rss_mb(me), 1),
            jvm_rss_mb=round(jvm, 1),
            temp_entries=len(temp_listing(self.temp_ignore) - self._temp_before),
            spark_local_files=spark_local_files(),
        )

    def new_temp_paths(self) -> set[str]:
        """Paths under the temp directory that appeared since the simulation started."""
        return temp_listing(self.temp_ignore) - self._temp_before
