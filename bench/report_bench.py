"""Benchmark: the `air_quality_report` asset on 3 and 100 cities x 22 months of gold tables.

Building 100 cities x 22 months with the pipeline takes minutes of Spark, so the gold tables the
report reads are written directly with pyiceberg, in the schemas (one file per month) of a real
pipeline run (a one-day run on the local Open-Meteo server, or `--schema-from WAREHOUSE`).
Values follow the local server's PM2.5 series; daily AQI, hour counts and episodes are derived
from them as the pipeline does. Each size materializes the asset in-process a few times and
keeps the median; results print and land in bench/results/.

    .venv/bin/python -m bench.report_bench [--schema-from WAREHOUSE] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path

import dagster as dg
import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog

from aqi_assets.catalog import registry
from aqi_assets.catalog.pollutants import REQUESTED_VARIABLES
from aqi_assets.config.pipeline_config import PipelineConfig
from aqi_assets.dev.local_open_meteo import pm25_series
from aqi_assets.report.asset import AIR_QUALITY_REPORT, ReportConfig, air_quality_report
from aqi_assets.transforms.aqi.epa_pm25 import AQI_CATEGORIES, aqi_from_pm25
from resources.iceberg.lakehouse_reader import LakehouseReader

RESULTS = Path(__file__).resolve().parent / "results"
FIRST, LAST = date(2024, 1, 1), date(2025, 10, 31)  # 22 months
SIZES = (3, 100)
TABLES = ("DIM_LOCATION", "FACT_HOURLY", "FACT_CITY_DAILY", "FACT_EPISODE", "FACT_AQI_FORECAST")
EPISODE_AQI, EPISODE_HOURS = 151, 4
HOUR_COLUMNS = ("hours_good", "hours_moderate", "hours_usg", "hours_unhealthy")
HOUR_COLUMNS += ("hours_very_unhealthy", "hours_hazardous")


@cache
def aqi(pm25: float) -> int | None:
    return aqi_from_pm25(pm25)


def real_warehouse(scratch: Path) -> Path:
    """A one-day pipeline run on the local Open-Meteo server (only its schemas are used)."""
    from aqi_assets.definitions import build_assets
    from aqi_assets.dev.local_open_meteo import LocalOpenMeteo
    from aqi_assets.orchestration.automation import with_automation
    from aqi_assets.orchestration.partitions import daily_partitions
    from aqi_assets_tests.conftest import make_spark_resource
    from aqi_assets_tests.materialize import materialize_range, materialize_reference
    from resources.open_meteo.client import OpenMeteoResource

    warehouse = scratch / "schema-source"
    warehouse.mkdir()
    assets = with_automation(build_assets(daily_partitions(FIRST)))
    with LocalOpenMeteo() as server:
        resources = {
            "spark": make_spark_resource(warehouse),
            "open_meteo": OpenMeteoResource(
                base_url=server.base_url, hourly_variables=list(REQUESTED_VARIABLES)
            ),
            "lakehouse": LakehouseReader(warehouse=warehouse.as_uri()),
            "pipeline": PipelineConfig(),
        }
        materialize_reference(assets, resources)
        today = datetime.now(UTC).date()
        materialize_range(assets, today, today, resources)
        forecast = getattr(registry, "FACT_AQI_FORECAST", None)
        if forecast is not None:
            dg.materialize(assets, selection=[forecast.asset], resources=resources)
    return warehouse


def locations(count: int) -> list[dict]:
    return [
        {
            "location_key": f"city{i:03d}",
            "location_name": f"City {i:03d}",
            "latitude": round(-40 + 80 * ((i * 37) % 100) / 100, 4),
            "longitude": round(-170 + 340 * ((i * 61) % 100) / 100, 4),
            "time_zone": "Asia/Ho_Chi_Minh",
        }
        for i in range(count)
    ]


def episodes(key: str, hours: list[datetime], values: list[int | None]) -> list[dict]:
    found, run = [], []
    for ts, value in [*zip(hours, values, strict=True), (None, None)]:
        if value is not None and value >= EPISODE_AQI:
            run.append((ts, value))
            continue
        if len(run) >= EPISODE_HOURS:
            peak = max(v for _, v in run)
            found.append(
                {
                    "episode_id": f"{key}-{run[0][0]:%Y%m%d%H}",
                    "location_key": key,
                    "start_ts": run[0][0],
                    "end_ts": run[-1][0],
                    "start_date": run[0][0].date(),
                    "duration_hours": len(run),
                    "avg_aqi": round(sum(v for _, v in run) / len(run), 3),
                    "max_aqi": peak,
                    "aqi_threshold": EPISODE_AQI,
                    "is_ongoing": ts is None,
                }
            )
        run = []
    return found


def synthesize(cities: list[dict]) -> dict[str, dict[str, list]]:
    """Column lists per table name in `TABLES`, for `cities` over FIRST..LAST."""
    start = datetime.combine(FIRST, datetime.min.time(), UTC)
    count = ((LAST - FIRST).days + 1) * 24
    hours = [start + timedelta(hours=h) for h in range(count)]
    epoch_hours = [int(ts.timestamp()) // 3600 for ts in hours]
    out: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for city in cities:
        key = city["location_key"]
        out["DIM_LOCATION"]["location_key"].append(key)
        out["DIM_LOCATION"]["location_name"].append(city["location_name"])
        pm25 = pm25_series(city["latitude"], city["longitude"], epoch_hours)
        values = [aqi(v) for v in pm25]
        hourly = out["FACT_HOURLY"]
        hourly["location_key"] += [key] * count
        hourly["ts_utc"] += hours
        hourly["date_key"] += [int(f"{ts:%Y%m%d}") for ts in hours]
        hourly["time_key"] += [ts.hour for ts in hours]
        hourly["pm25"] += pm25
        hourly["aqi"] += values
        hourly["is_forecast"] += [False] * count
        for day in range(count // 24):
            day_pm, day_aqi = pm25[day * 24 : day * 24 + 24], values[day * 24 : day * 24 + 24]
            daily = out["FACT_CITY_DAILY"]
            daily["location_key"].append(key)
            daily["date_utc"].append(FIRST + timedelta(days=day))
            daily["date_key"].append(int(f"{FIRST + timedelta(days=day):%Y%m%d}"))
            daily["avg_pm25"].append(round(sum(day_pm) / 24, 3))
            daily["max_aqi"].append(max(day_aqi))
            daily["daily_aqi"].append(aqi(int(sum(day_pm) / 24 * 10) / 10))
            daily["total_hours"].append(24)
            for column, (_, low, high) in zip(HOUR_COLUMNS, AQI_CATEGORIES, strict=True):
                daily[column].append(sum(low <= v <= high for v in day_aqi))
        for episode in episodes(key, hours, values):
            for column, value in episode.items():
                out["FACT_EPISODE"][column].append(value)
        forecast = out["FACT_AQI_FORECAST"]
        for h in range(1, 121):
            ts = hours[-1] + timedelta(hours=h)
            value = aqi(pm25_series(city["latitude"], city["longitude"], [epoch_hours[-1] + h])[0])
            forecast["location_key"].append(key)
            forecast["ts_utc"].append(ts)
            forecast["date_local"].append((ts + timedelta(hours=7)).date())
            forecast["aqi"].append(value)
    return out


def months_of(frame: pa.Table, column: str | None) -> list[pa.Table]:
    """`frame` split by calendar month of `column` (the real tables' month partitions)."""
    if column is None:
        return [frame]
    keys = [f"{v:%Y-%m}" for v in frame[column].to_pylist()]
    return [frame.filter(pa.array([k == month for k in keys])) for month in sorted(set(keys))]


def write_warehouse(root: Path, source: LakehouseReader, columns: dict) -> None:
    """Each table in its real schema, one data file per month as the real month partitions have
    (unpartitioned: pyiceberg's partitioned writes need pyiceberg-core), as a Hadoop-catalog
    table (v1 metadata)."""
    catalog = SqlCatalog("bench", uri=f"sqlite:///{root}/catalog.db", warehouse=root.as_uri())
    catalog.create_namespace("gold")
    for name in TABLES:
        spec = getattr(registry, name, None)
        if spec is None or not source.table_exists(*spec.table):
            continue
        real = source.load(*spec.table)
        schema = real.schema().as_arrow()
        data = columns[name]
        rows = len(next(iter(data.values())))
        arrays = {f.name: data.get(f.name, [None] * rows) for f in schema}
        location = root / spec.table.namespace / spec.table.name
        table = catalog.create_table(spec.table, schema=real.schema(), location=str(location))
        frame = pa.Table.from_pydict(arrays, schema=schema)
        for month in months_of(frame, spec.window_column):
            table.append(month)
        shutil.copy(table.metadata_location, location / "metadata" / "v1.metadata.json")
        (location / "metadata" / "version-hint.text").write_text("1")


def measure(root: Path, cities: list[dict], repeat: int) -> dict:
    places = root / "locations.json"
    places.write_text(json.dumps(cities))
    resources = {
        "lakehouse": LakehouseReader(warehouse=(root / "warehouse").as_uri()),
        "pipeline": PipelineConfig(locations_path=str(places)),
    }
    config = dg.RunConfig(ops={AIR_QUALITY_REPORT: ReportConfig(folder=str(root / "reports"))})
    walls, builds, sizes = [], [], []
    for _ in range(repeat):
        started = time.perf_counter()
        result = dg.materialize([air_quality_report], resources=resources, run_config=config)
        walls.append(time.perf_counter() - started)
        (event,) = result.asset_materializations_for_node(AIR_QUALITY_REPORT)
        builds.append(event.metadata["build_seconds"].value)
        sizes.append(event.metadata["page_bytes"].value)
    return {
        "cities": len(cities),
        "build_seconds_median": round(statistics.median(builds), 3),
        "build_seconds_all": builds,
        "materialize_wall_seconds_median": round(statistics.median(walls), 3),
        "page_bytes": sizes[-1],
        "page_mb": round(sizes[-1] / 1e6, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schema-from", type=Path, help="a warehouse the pipeline built")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="report-bench-") as scratch:
        source_path = args.schema_from or real_warehouse(Path(scratch))
        source = LakehouseReader(warehouse=source_path.resolve().as_uri())
        results = []
        for size in SIZES:
            root = Path(scratch) / f"cities-{size}"
            (root / "warehouse").mkdir(parents=True)
            cities = locations(size)
            started = time.perf_counter()
            write_warehouse(root / "warehouse", source, synthesize(cities))
            print(f"{size} cities: gold tables written in {time.perf_counter() - started:.1f} s")
            results.append(measure(root, cities, args.repeat))
            print(json.dumps(results[-1]))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"report-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps({"first": str(FIRST), "last": str(LAST), "runs": results}, indent=2))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
