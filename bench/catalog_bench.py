"""Benchmark: the local default Iceberg catalog, Hadoop (files) against JDBC on a SQLite file.

In one Spark driver (local[2], as a run), for each catalog in turn, alternating which goes first
round by round: the reference dimensions and `--days` days of every partitioned asset built
in-process against the local Open-Meteo server; then `--commits` small window replacements of
one table, and as many commits of a table property alone (the catalog's own share of a commit);
then `--loads` loads of a gold table by the pyiceberg reader (what asset metadata, the report and
analysts pay per table). Medians of the rounds after the first (which warms the JVM up) print as
JSON and land in bench/results/catalog_bench.json.

    .venv/bin/python -m bench.catalog_bench [--rounds 4] [--days 2] [--commits 20] [--loads 50]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from aqi_assets.catalog.pollutants import REQUESTED_VARIABLES
from aqi_assets.catalog.registry import (
    BY_KEY,
    FACT_CITY_DAILY,
    PARTITIONED_ASSETS,
    REFERENCE_ASSETS,
)
from aqi_assets.config.pipeline_config import PipelineConfig
from aqi_assets.definitions import build_assets
from aqi_assets.dev.local_open_meteo import LocalOpenMeteo
from aqi_assets.orchestration.partitions import daily_partitions
from resources.iceberg.lakehouse_reader import LakehouseReader
from resources.iceberg.window_writes import replace_window
from resources.open_meteo.client import OpenMeteoResource
from resources.spark.run_tags import RANGE_END_TAG, RANGE_START_TAG
from resources.spark.spark_resource import SparkIcebergResource

RESULTS = Path(__file__).resolve().parent / "results"
FIRST = date(2024, 1, 1)
CATALOGS = ("hadoop", "jdbc")


def catalog_pair(root: Path, kind: str, name: str) -> tuple[SparkIcebergResource, LakehouseReader]:
    """A Spark resource and a reader on a fresh warehouse under `root`, through catalog `kind`."""
    warehouse = (root / name).as_uri()
    catalog = {"catalog_type": kind}
    if kind == "jdbc":
        catalog["catalog_uri"] = f"jdbc:sqlite:{root / name}-catalog.db"
    spark = SparkIcebergResource(
        warehouse=warehouse,
        catalog_name=name,
        master="local[2]",
        ui_enabled=False,
        class_archive=None,
        **catalog,
    )
    return spark, LakehouseReader(warehouse=warehouse, catalog_name=name, **catalog)


def build_graph(assets, spark, reader, server: LocalOpenMeteo, days: int) -> float:
    """Seconds to build the reference dimensions and `days` days of the partitioned graph."""
    resources = {
        "spark": spark,
        "lakehouse": reader,
        "open_meteo": OpenMeteoResource(
            base_url=server.base_url, hourly_variables=list(REQUESTED_VARIABLES)
        ),
        "pipeline": PipelineConfig(),
    }
    last = FIRST + timedelta(days=days - 1)
    tags = {RANGE_START_TAG: FIRST.isoformat(), RANGE_END_TAG: last.isoformat()}
    started = time.perf_counter()
    dg.materialize(assets, selection=list(REFERENCE_ASSETS), resources=resources)
    dg.materialize(assets, selection=list(PARTITIONED_ASSETS), resources=resources, tags=tags)
    return time.perf_counter() - started


def commit_seconds(spark: SparkIcebergResource, commits: int) -> float:
    """Median seconds of one small window replacement (3 rows, one month)."""
    session = spark.spark_session
    table = spark.table("bench", "commits")
    times = []
    for i in range(commits):
        rows = session.createDataFrame(
            [(FIRST + timedelta(days=d), float(i)) for d in range(3)], "day date, value double"
        )
        started = time.perf_counter()
        replace_window(rows, table, "day", FIRST, FIRST.replace(month=2))
        times.append(time.perf_counter() - started)
    return statistics.median(times[1:])  # the first creates the table


def metadata_commit_seconds(spark: SparkIcebergResource, commits: int) -> float:
    """Median seconds of a commit without data (a table property): the catalog's own share."""
    table = spark.table("bench", "commits")
    times = []
    for i in range(commits):
        started = time.perf_counter()
        spark.spark_session.sql(f"ALTER TABLE {table} SET TBLPROPERTIES ('bench.i'='{i}')")
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def load_seconds(reader: LakehouseReader, loads: int) -> float:
    """Median seconds for the reader to load fact_city_daily at its newest commit."""
    times = []
    for _ in range(loads):
        started = time.perf_counter()
        reader.load(*FACT_CITY_DAILY.table)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.catalog_bench", description=__doc__)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--commits", type=int, default=20)
    parser.add_argument("--loads", type=int, default=50)
    args = parser.parse_args(argv)
    # The lakehouse tables only: the report needs a resource of its own.
    assets = [a for a in build_assets(daily_partitions(FIRST)) if set(a.keys) <= set(BY_KEY)]
    samples: dict[str, dict[str, list[float]]] = {
        k: {"graph": [], "commit": [], "metadata_commit": [], "load": []} for k in CATALOGS
    }
    with (
        tempfile.TemporaryDirectory(prefix="aqi-catalog-bench-") as scratch,
        LocalOpenMeteo() as server,
    ):
        root = Path(scratch)
        # The first session's class path holds the JDBC drivers, so both catalogs share one JVM.
        catalog_pair(root, "jdbc", "warmup")[0].spark_session.sparkContext.setLogLevel("ERROR")
        for round_ in range(args.rounds):
            order = CATALOGS if round_ % 2 == 0 else CATALOGS[::-1]
            for kind in order:
                spark, reader = catalog_pair(root, kind, f"{kind}{round_}")
                samples[kind]["graph"].append(build_graph(assets, spark, reader, server, args.days))
                samples[kind]["commit"].append(commit_seconds(spark, args.commits))
                samples[kind]["metadata_commit"].append(
                    metadata_commit_seconds(spark, args.commits)
                )
                samples[kind]["load"].append(load_seconds(reader, args.loads))
    # The first round also warms the JVM up (JIT, class loading): its figures are left out.
    kept = slice(1, None) if args.rounds > 1 else slice(None)
    result = {
        kind: {what: round(statistics.median(values[kept]), 4) for what, values in series.items()}
        | {"samples": series}
        for kind, series in samples.items()
    }
    result["jdbc_over_hadoop"] = {
        what: round(result["jdbc"][what] / result["hadoop"][what], 3)
        for what in ("graph", "commit", "metadata_commit", "load")
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "catalog_bench.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
