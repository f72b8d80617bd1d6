"""Build the Spark driver's class archive from a real run of the pipeline.

    python -m aqi_assets.dev.build_jvm_archive [--path FILE] [--force]

The classes worth archiving are the ones a run loads, so the archive is written by a JVM that
ran the whole graph: the reference dimensions, two days of every partitioned asset, then one of
those days again (a rewrite that carries the other day's rows, as an hourly refresh does), in a
scratch warehouse against the bundled local Open-Meteo server. See resources/spark/jvm_archive.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from aqi_assets.catalog.pollutants import REQUESTED_VARIABLES
from aqi_assets.config.settings import Settings, load_settings
from resources.spark.jvm_archive import ARCHIVE_PREFIX, build_archive

QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
FIRST_DAY = date(2024, 1, 1)
LAST_DAY = date(2024, 1, 2)


def pipeline_workload(settings: Settings, java_option: str) -> None:
    """Run the graph as described above in a fresh local driver JVM started with `java_option`."""
    # Imported here: the archive build runs before every dev and test session and should only
    # pay for the pipeline when it has an archive to build.
    import dagster as dg

    from aqi_assets.catalog.registry import BY_KEY, PARTITIONED_ASSETS, REFERENCE_ASSETS
    from aqi_assets.config.pipeline_config import PipelineConfig
    from aqi_assets.definitions import build_assets
    from aqi_assets.dev.local_open_meteo import LocalOpenMeteo
    from aqi_assets.orchestration.partitions import daily_partitions
    from resources.iceberg.lakehouse_reader import LakehouseReader
    from resources.open_meteo.client import OpenMeteoResource
    from resources.spark.run_tags import RANGE_END_TAG, RANGE_START_TAG
    from resources.spark.spark_conf import DRIVER_JAVA_OPTIONS
    from resources.spark.spark_resource import SparkIcebergResource

    with (
        tempfile.TemporaryDirectory(prefix="aqi-jvm-archive-") as scratch,
        LocalOpenMeteo() as server,
    ):
        warehouse = Path(scratch).as_uri()
        # The runs' catalog kind: a JDBC one puts its drivers on the class path the archive keeps.
        catalog = {"catalog_type": settings.catalog_type}
        if settings.catalog_type == "jdbc":
            catalog["catalog_uri"] = f"jdbc:sqlite:{scratch}/iceberg_catalog.db"
        resources = {
            "spark": SparkIcebergResource(
                warehouse=warehouse,
                iceberg_jar=settings.iceberg_jar,
                iceberg_packages=settings.iceberg_packages,
                ui_enabled=False,
                spark_config={DRIVER_JAVA_OPTIONS: java_option},
                **catalog,
            ),
            "open_meteo": OpenMeteoResource(
                base_url=server.base_url, hourly_variables=list(REQUESTED_VARIABLES)
            ),
            "lakehouse": LakehouseReader(warehouse=warehouse, **catalog),
            "pipeline": PipelineConfig(),
        }
        # The lakehouse tables only: other assets (the report) need resources this run lacks.
        assets = [
            a for a in build_assets(daily_partitions(FIRST_DAY)) if set(a.keys) <= set(BY_KEY)
        ]
        instance = dg.DagsterInstance.ephemeral()
        runs = [
            {"selection": list(REFERENCE_ASSETS)},
            {
                "selection": list(PARTITIONED_ASSETS),
                "tags": {
                    RANGE_START_TAG: FIRST_DAY.isoformat(),
                    RANGE_END_TAG: LAST_DAY.isoformat(),
                },
            },
            {"selection": list(PARTITIONED_ASSETS), "partition_key": LAST_DAY.isoformat()},
        ]
        for run in runs:
            dg.materialize(assets, resources=resources, instance=instance, run_config=QUIET, **run)


def remove_stale_archives(current: Path) -> None:
    """Delete the default directory's archives of an earlier JDK, Spark or Iceberg jar.

    A driver that maps one keeps its mapping: the file goes once that driver exits.
    """
    for stale in current.parent.glob(f"{ARCHIVE_PREFIX}*.jsa"):
        if stale != current:
            stale.unlink(missing_ok=True)


def ensure_archive(target: str | None, force: bool = False) -> int:
    """Build the archive at `target` (default: the settings' path) unless it exists; exit code."""
    settings = load_settings()
    path = target or settings.jvm_archive
    if path is None:
        print("AQI_JVM_ARCHIVE=off: no driver class archive is used.", file=sys.stderr)
        return 0
    archive = Path(path)
    if archive.is_file() and not force:
        print(f"driver class archive up to date: {archive}", file=sys.stderr)
        return 0
    print(f"building the Spark driver class archive {archive} (about a minute)", file=sys.stderr)
    started = time.perf_counter()
    build_archive(archive, lambda option: pipeline_workload(settings, option))
    if target is None:
        remove_stale_archives(archive)
    size_mb = archive.stat().st_size / 2**20
    print(
        f"driver class archive written: {archive} ({size_mb:.0f} MB, "
        f"{time.perf_counter() - started:.0f} s)",
        file=sys.stderr,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line: build the archive unless it exists; the process exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m aqi_assets.dev.build_jvm_archive",
        description="Build the Spark driver's class-data-sharing archive (faster JVM start).",
    )
    parser.add_argument("--path", default=None, help="archive file (default: AQI_JVM_ARCHIVE)")
    parser.add_argument("--force", action="store_true", help="rebuild even if it exists")
    args = parser.parse_args(argv)
    return ensure_archive(args.path, args.force)


if __name__ == "__main__":
    sys.exit(main())
