"""Benchmark: reads of fact_hourly before and after 30 days of hourly refreshes, then maintenance.

Builds the graph for 30 days in-process against the local Open-Meteo server, then replays what
the hourly automation commits to `gold.fact_air_quality_hourly` for 30 days (one atomic
replacement of the day's partition per hour, 720 commits), measures a typical read (Spark
aggregate and a pyiceberg scan) before, after the refreshes, and after the maintenance job's
compaction + manifest rewrite + snapshot expiry. Results print and land in bench/results/.

    .venv/bin/python -m bench.maintenance_bench [--days 30] [--refreshes-per-day 24]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg

from aqi_assets.catalog.pollutants import REQUESTED_VARIABLES
from aqi_assets.catalog.registry import (
    FACT_HOURLY,
    PARTITIONED_ASSETS,
    REFERENCE_ASSETS,
    SILVER_HOURLY,
)
from aqi_assets.config.pipeline_config import PipelineConfig
from aqi_assets.definitions import build_assets
from aqi_assets.dev.local_open_meteo import LocalOpenMeteo
from aqi_assets.gold.hourly_facts import FACT_HOURLY_COLUMNS
from aqi_assets.orchestration.automation import with_automation
from aqi_assets.orchestration.maintenance import MaintenanceConfig, maintain, table_stats
from aqi_assets.orchestration.partitions import daily_partitions
from resources.iceberg.lakehouse_reader import LakehouseReader
from resources.iceberg.window_writes import replace_window, window_condition
from resources.open_meteo.client import OpenMeteoResource
from resources.spark.run_tags import RANGE_END_TAG, RANGE_START_TAG
from resources.spark.spark_resource import SparkIcebergResource

RESULTS = Path(__file__).resolve().parent / "results"
FIRST = date(2024, 1, 1)
RANGE_TAGS = (RANGE_START_TAG, RANGE_END_TAG)


def timed(action: Callable[[], object], repeat: int = 3) -> float:
    """Median wall seconds of `action` over `repeat` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 3)


def measure_reads(spark: SparkIcebergResource, reader: LakehouseReader) -> dict[str, float]:
    """Data files, snapshots and the time of a typical aggregate read (Spark, pyiceberg)."""
    name = spark.table(*FACT_HOURLY.table)
    session = spark.spark_session

    def spark_read() -> None:
        session.sql(
            f"SELECT location_key, date_key, avg(aqi), max(pm25) FROM {name} GROUP BY 1, 2"
        ).collect()

    def pyiceberg_read() -> None:
        reader.read_arrow(*FACT_HOURLY.table)

    return {
        **table_stats(spark, name),
        "spark_aggregate_s": timed(spark_read),
        "pyiceberg_scan_s": timed(pyiceberg_read),
    }


def build(server: LocalOpenMeteo, warehouse: Path, days: int) -> dict[str, object]:
    """Resources on `warehouse`, and the whole graph materialized for `days` days."""
    resources = {
        "spark": SparkIcebergResource(warehouse=warehouse.as_uri(), ui_enabled=False),
        "open_meteo": OpenMeteoResource(
            base_url=server.base_url, hourly_variables=list(REQUESTED_VARIABLES)
        ),
        "lakehouse": LakehouseReader(warehouse=warehouse.as_uri()),
        "pipeline": PipelineConfig(),
    }
    assets = with_automation(build_assets(daily_partitions(FIRST)))
    dg.materialize(assets, selection=list(REFERENCE_ASSETS), resources=resources)
    last = FIRST + timedelta(days=days - 1)
    dg.materialize(
        assets,
        selection=list(PARTITIONED_ASSETS),
        resources=resources,
        tags=dict(zip(RANGE_TAGS, (FIRST.isoformat(), last.isoformat()), strict=True)),
    )
    return resources


def hourly_refreshes(spark: SparkIcebergResource, days: int, per_day: int) -> float:
    """Replay the hourly refresh commits of fact_hourly; returns seconds per commit."""
    session = spark.spark_session
    silver = session.table(spark.table(*SILVER_HOURLY.table))
    target = spark.table(*FACT_HOURLY.table)
    started = time.perf_counter()
    for offset in range(days):
        day = FIRST + timedelta(days=offset)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        end = start + timedelta(days=1)
        frame = silver.where(window_condition("ts_utc", start, end)).select(*FACT_HOURLY_COLUMNS)
        for _ in range(per_day):
            replace_window(frame, target, "ts_utc", start, end)
    return round((time.perf_counter() - started) / (days * per_day), 3)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--refreshes-per-day", type=int, default=24)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aqi-maint-") as tmp, LocalOpenMeteo() as server:
        resources = build(server, Path(tmp) / "wh", args.days)
        spark, reader = resources["spark"], resources["lakehouse"]
        spark.spark_session.sparkContext.setLogLevel("ERROR")
        fresh = measure_reads(spark, reader)
        per_commit = hourly_refreshes(spark, args.days, args.refreshes_per_day)
        refreshed = measure_reads(spark, reader)
        config = MaintenanceConfig(keep_snapshots_days=0, retain_last=24)
        started = time.perf_counter()
        maintain(spark, FACT_HOURLY, config)
        maintenance_s = round(time.perf_counter() - started, 1)
        maintained = measure_reads(spark, reader)
    rows = {"fresh": fresh, "after refreshes": refreshed, "after maintenance": maintained}
    lines = [f"{'state':<20}{'files':>7}{'snapshots':>11}{'spark s':>9}{'pyiceberg s':>13}"]
    for state, m in rows.items():
        lines.append(
            f"{state:<20}{m['data_files']:>7}{m['snapshots']:>11}"
            f"{m['spark_aggregate_s']:>9}{m['pyiceberg_scan_s']:>13}"
        )
    lines.append(
        f"{args.days * args.refreshes_per_day} refresh commits at {per_commit} s each; "
        f"maintenance took {maintenance_s} s"
    )
    table = "\n".join(lines)
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    target = RESULTS / f"maintenance-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    payload = {
        "days": args.days,
        "refreshes_per_day": args.refreshes_per_day,
        "seconds_per_commit": per_commit,
        "maintenance_seconds": maintenance_s,
        "reads": rows,
        "table": table,
    }
    target.write_text(json.dumps(payload, indent=2))
    print(f"written {target}")


if __name__ == "__main__":
    main()
