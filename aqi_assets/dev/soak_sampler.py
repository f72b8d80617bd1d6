"""Growth figures of a running `dagster dev`, sampled every N minutes: the real-time soak.

The same checks as aqi_assets_tests/integration/test_48_hours.py, on real time: event-log rows
written since the last sample, failed runs, Iceberg snapshots per table, entries under the
temp directory (start the instance and the sampler with one TMPDIR of their own), and the
resident memory of the instance's Dagster and Spark processes (those with its DAGSTER_HOME).
One JSON line per sample on stdout; a final verdict (flat or not) when it stops.

    TMPDIR=.soak_tmp DAGSTER_HOME=.dagster_home .venv/bin/python -m aqi_assets.dev.soak_sampler \
        --every 10 --for 120 > soak.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from aqi_assets.catalog.registry import TABLES
from aqi_assets.config.profiles import lakehouse_reader
from aqi_assets.config.settings import load_settings
from resources.iceberg.lakehouse_reader import LakehouseReader

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
# Processes whose memory is followed: the webserver, the daemon, run workers and their JVMs.
WATCHED = ("dagster", "org.apache.spark")


def rss_by_process(home: str) -> dict[str, float]:
    """Resident MiB of every watched process of the instance at `home` (its DAGSTER_HOME, which
    run workers and their JVMs inherit), keyed `pid:name`: other instances on the machine are
    left out."""
    found = {}
    marker = f"DAGSTER_HOME={home}".encode()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            environ = (proc / "environ").read_bytes().split(b"\0")
            pages = int((proc / "statm").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            continue
        mine = marker in environ and "soak_sampler" not in cmdline
        if mine and any(w in cmdline for w in WATCHED):
            name = cmdline.split()[0].rsplit("/", 1)[-1]
            found[f"{proc.name}:{name}"] = round(pages * PAGE_KB / 1024, 1)
    return found


def temp_entries() -> int:
    """Files and folders under the temp directory (TMPDIR: give the instance one of its own)."""
    return sum(len(d) + len(f) for _, d, f in os.walk(tempfile.gettempdir(), onerror=None))


def rows_per_run(instance: dg.DagsterInstance, runs: list) -> dict[str, list[int]]:
    """Event-log rows of each finished run, by job."""
    found: dict[str, list[int]] = {}
    for record in runs:
        run = record.dagster_run
        if run.is_finished:
            found.setdefault(run.job_name, []).append(len(instance.all_logs(run.run_id)))
    return found


def sample(instance: dg.DagsterInstance, reader: LakehouseReader, since: float) -> dict:
    """One sample: what happened since `since` (a timestamp) and the state now."""
    runs = instance.get_run_records(dg.RunsFilter(updated_after=datetime.fromtimestamp(since, UTC)))
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "runs": len(runs),
        "failed_runs": sum(r.dagster_run.status == dg.DagsterRunStatus.FAILURE for r in runs),
        "event_rows": sum(len(instance.all_logs(r.dagster_run.run_id)) for r in runs),
        "rows_per_run": rows_per_run(instance, runs),
        "snapshots": {
            t.asset: len(reader.snapshots(*t.table))
            for t in TABLES
            if reader.table_exists(*t.table)
        },
        "temp_entries": temp_entries(),
        "rss_mb": rss_by_process(os.environ["DAGSTER_HOME"]),
    }


def verdict(samples: list[dict], tolerance: float = 0.05, rss_mb: float = 100.0) -> list[str]:
    """What is not flat over the second half of the soak (empty: flat): failed runs, event rows
    per interval with a run, temp entries, and the memory of each process that lived through it
    (run workers come and go; the webserver, daemon and code server stay)."""
    half = samples[len(samples) // 2 :]
    problems = []
    if any(s["failed_runs"] for s in samples):
        problems.append("a run failed")
    # Per job: a refresh and a freshness-check run write different numbers of rows.
    by_job: dict[str, list[int]] = {}
    for s in half:
        for job, rows in s.get("rows_per_run", {}).items():
            by_job.setdefault(job, []).extend(rows)
    for job, rows in sorted(by_job.items()):
        if max(rows) - min(rows) > tolerance * max(rows):
            problems.append(f"event rows per {job} run vary: {rows}")
    if half and half[-1]["temp_entries"] > half[0]["temp_entries"]:
        problems.append(
            f"temp entries grew: {half[0]['temp_entries']} -> {half[-1]['temp_entries']}"
        )
    if half:
        first, last = half[0]["rss_mb"], half[-1]["rss_mb"]
        for proc in first.keys() & last.keys():
            if last[proc] - first[proc] > rss_mb:
                problems.append(f"{proc} memory rose {first[proc]} -> {last[proc]} MiB")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=float, default=10, help="minutes between samples")
    parser.add_argument("--for", dest="total", type=float, default=120, help="minutes in all")
    args = parser.parse_args(argv)
    settings = load_settings()
    reader = lakehouse_reader(settings)
    samples: list[dict] = []
    with dg.DagsterInstance.get() as instance:
        last, end = time.time(), time.time() + args.total * 60
        while time.time() < end:
            time.sleep(args.every * 60)
            samples.append(sample(instance, reader, last))
            last = time.time()
            print(json.dumps(samples[-1]), flush=True)
    problems = verdict(samples)
    print(json.dumps({"flat": not problems, "problems": problems}), flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
