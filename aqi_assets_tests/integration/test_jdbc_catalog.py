"""The graph on Iceberg's JDBC catalog (an embedded SQLite file), read back through pyiceberg's
SQL catalog as Spark reads it and as docs/analysts.md reads it; and two writers of one table, of
which the catalog lets exactly one commit first."""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path

import dagster as dg
import pytest
from pyspark.sql import DataFrame, SparkSession

from aqi_assets.catalog.registry import (
    DIM_LOCATION,
    FACT_AQI_FORECAST,
    FACT_CITY_DAILY,
    FACT_HOURLY,
    TABLES,
)
from aqi_assets_tests.catalog_readback import GOLD, export, pyiceberg_rows, spark_rows
from aqi_assets_tests.cli_runs import ROOT
from aqi_assets_tests.conftest import make_spark_resource
from aqi_assets_tests.integration.test_analyst_queries import doc_blocks
from aqi_assets_tests.materialize import materialize_range, materialize_reference
from resources.iceberg import hadoop_tables
from resources.iceberg.lakehouse_reader import LakehouseReader, TableNotFoundError
from resources.iceberg.window_writes import (
    WRITE_OPTIONS,
    ensure_namespace,
    replace_window,
    window_condition,
)
from resources.spark.spark_resource import SparkIcebergResource

_ids = itertools.count()
DAYS = (date(2024, 1, 1), date(2024, 1, 2))


def jdbc_pair(
    warehouse: Path, database: Path, name: str | None = None
) -> tuple[SparkIcebergResource, LakehouseReader]:
    """A Spark resource and a reader on one JDBC catalog (same database, same catalog name)."""
    name = name or f"jdbc{next(_ids)}"
    uri = f"jdbc:sqlite:{database}"
    spark = make_spark_resource(warehouse, catalog_name=name, catalog_type="jdbc", catalog_uri=uri)
    reader = LakehouseReader(
        warehouse=warehouse.as_uri(), catalog_type="jdbc", catalog_uri=uri, catalog_name=name
    )
    return spark, reader


def catalog_rows(database: Path) -> dict[tuple[str, str], str]:
    """(namespace, table) -> metadata file, as the JDBC catalog's database holds them."""
    with sqlite3.connect(database) as conn:
        rows = conn.execute(
            "SELECT table_namespace, table_name, metadata_location FROM iceberg_tables"
        ).fetchall()
    return {(namespace, name): location for namespace, name, location in rows}


def test_the_graph_commits_through_the_catalog_and_pyiceberg_reads_what_spark_reads(
    spark, tmp_path: Path, warehouse: Path, pipeline_resources, lakehouse_assets
) -> None:
    database = tmp_path / "catalog" / "iceberg.db"  # its folder does not exist yet
    # `lh`: the code location's catalog name, which docs/analysts.md reads by.
    spark_resource, reader = jdbc_pair(warehouse, database, name="lh")
    resources = {**pipeline_resources, "spark": spark_resource, "lakehouse": reader}
    materialize_reference(lakehouse_assets, resources)
    materialize_range(lakehouse_assets, *DAYS, resources)
    dg.materialize(lakehouse_assets, selection=[FACT_AQI_FORECAST.asset], resources=resources)

    rows = catalog_rows(database)
    for spec in TABLES:
        # Found through the catalog's row, not by the Hadoop catalog's file names.
        assert tuple(spec.table) in rows, spec.asset
        assert reader.load(*spec.table).metadata_location == rows[tuple(spec.table)]
        assert hadoop_tables.metadata_location(warehouse.as_uri(), *spec.table) is None
    assert reader.row_count(*FACT_HOURLY.table) == 3 * 24 * len(DAYS)
    assert reader.row_count(*FACT_CITY_DAILY.table) == 3 * len(DAYS)

    export(spark_resource, tmp_path / "spark")
    for spec in GOLD:
        expected = spark_rows(tmp_path / "spark", spec)
        assert expected, spec.asset
        assert pyiceberg_rows(reader, spec) == expected, spec.asset

    # docs/analysts.md's pyiceberg + DuckDB block, as written, with the catalog's settings.
    env = {"AQI_WAREHOUSE": warehouse.as_uri(), "AQI_CATALOG_TYPE": "jdbc"}
    env["AQI_CATALOG_URI"] = f"jdbc:sqlite:{database}"
    assert doc_hours_above_150(env) == hours_above_150(reader)


def doc_hours_above_150(env: dict[str, str]) -> list[list]:
    """The doc's first block, run by a fresh Python with `env`: its hours above 150."""
    code = doc_blocks()[0] + "import json\nprint(json.dumps(hours_above_150.fetchall()))\n"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def hours_above_150(reader: LakehouseReader) -> list[list]:
    """Per city and month, the daily table's hours at Unhealthy or worse, counted by hand."""
    names = {r["location_key"]: r["location_name"] for r in reader.read_arrow(*DIM_LOCATION.table).to_pylist()}  # fmt: skip
    hours: Counter = Counter()
    for row in reader.read_arrow(*FACT_CITY_DAILY.table).to_pylist():
        key = (names[row["location_key"]], f"{row['date_utc']:%Y-%m}")
        hours[key] += row["hours_unhealthy"] + row["hours_very_unhealthy"] + row["hours_hazardous"]
    return [[city, month, total] for (city, month), total in sorted(hours.items())]


def test_a_reader_of_a_catalog_never_written_finds_no_table_and_creates_nothing(
    tmp_path: Path,
) -> None:
    database = tmp_path / "iceberg.db"
    reader = LakehouseReader(
        warehouse=tmp_path.as_uri(), catalog_type="jdbc", catalog_uri=f"jdbc:sqlite:{database}"
    )
    assert not reader.table_exists(*FACT_HOURLY.table)
    with pytest.raises(TableNotFoundError, match="materialize the `fact_air_quality_hourly`"):
        reader.load(*FACT_HOURLY.table)
    assert not database.exists()
    sqlite3.connect(database).close()  # an empty database: the catalog's tables not created yet
    assert not reader.table_exists(*FACT_HOURLY.table)


# -- two writers of one table ------------------------------------------------------------------
TABLE = ("silver", "two_writers")


def month_rows(spark: SparkSession, month: int, value: float) -> DataFrame:
    """One row per day of 2024-`month`'s first three days."""
    rows = [(date(2024, month, day), value) for day in (1, 2, 3)]
    return spark.createDataFrame(rows, "day date, value double")


def writer_session(resource: SparkIcebergResource, table: tuple | None = TABLE) -> SparkSession:
    """A Spark session with its own instance of `resource`'s catalog, as another run's driver
    has, holding `table`'s current metadata in its cache."""
    session = resource.spark_session.newSession()
    for key, value in resource.effective_conf().items():
        if key.startswith(f"spark.sql.catalog.{resource.catalog_name}"):
            session.conf.set(key, value)
    if table:
        session.table(resource.table(*table)).count()
    return session


def replace_month(session: SparkSession, table: str, month: int, value: float, base: int) -> None:
    """Replace a month as `replace_window` does once it has read snapshot `base`: the commit
    fails if rows of that month were added or removed since."""
    options = {
        **WRITE_OPTIONS,
        "validate-from-snapshot-id": str(base),
        "isolation-level": "serializable",
    }
    window = window_condition("day", date(2024, month, 1), date(2024, month + 1, 1))
    month_rows(session, month, value).writeTo(table).options(**options).overwrite(window)


def race(*writes: Callable[[], None]) -> list[Exception | None]:
    """Run `writes` in threads started together; what each raised (None: it committed)."""
    barrier = threading.Barrier(len(writes))
    outcomes: list[Exception | None] = [None] * len(writes)

    def run(index: int) -> None:
        barrier.wait()
        try:
            writes[index]()
        except Exception as exc:  # the outcome under test
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(writes))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return outcomes


def test_writers_creating_one_namespace_at_once_all_go_on(
    spark, tmp_path: Path, warehouse: Path
) -> None:
    resource, _ = jdbc_pair(warehouse, tmp_path / "iceberg.db")
    sessions = [writer_session(resource, table=None) for _ in range(3)]
    for round_ in range(4):
        namespace = f"{resource.catalog_name}.layer{round_}"
        assert not resource.spark_session.catalog.databaseExists(namespace)
        outcomes = race(*(partial(ensure_namespace, session, namespace) for session in sessions))
        assert outcomes == [None] * len(sessions)
        assert resource.spark_session.catalog.databaseExists(namespace)


def month_values(reader: LakehouseReader) -> list[tuple[int, float]]:
    return sorted((r["day"].month, r["value"]) for r in reader.read_arrow(*TABLE).to_pylist())


def test_two_writers_of_one_table_one_commits_the_other_retries_or_fails_nothing_lost(
    spark, tmp_path: Path, warehouse: Path
) -> None:
    resource, reader = jdbc_pair(warehouse, tmp_path / "iceberg.db")
    table = resource.table(*TABLE)
    first = month_rows(resource.spark_session, 1, 0.0)
    replace_window(first.unionByName(month_rows(resource.spark_session, 2, 0.0)), table, "day",
                   date(2024, 1, 1), date(2024, 3, 1))  # fmt: skip
    base = reader.current_snapshot_id(*TABLE)

    # Two runs' drivers replace January and February of one table, both from `base`. Each
    # commit names the metadata it replaces; the catalog takes the first and refuses the
    # second, which Iceberg retries on the new metadata (no conflict: another month).
    one, two = writer_session(resource), writer_session(resource)
    outcomes = race(
        lambda: replace_month(one, table, 1, 1.0, base),
        lambda: replace_month(two, table, 2, 2.0, base),
    )
    assert outcomes == [None, None]
    new = reader.snapshots(*TABLE)[-2:]
    assert [s.parent_id for s in new] == [base, new[0].snapshot_id]  # the second one rebased
    assert month_values(reader) == [(1, 1.0)] * 3 + [(2, 2.0)] * 3

    # Both replace January from the same snapshot: the second to commit finds the first's
    # files in its month (at once, or on its retry) and fails saying so; nothing of it lands.
    base = reader.current_snapshot_id(*TABLE)
    one, two = writer_session(resource), writer_session(resource)
    outcomes = race(
        lambda: replace_month(one, table, 1, 3.0, base),
        lambda: replace_month(two, table, 1, 4.0, base),
    )
    [failure] = [outcome for outcome in outcomes if outcome is not None]
    assert "Found conflicting files" in str(failure)
    winner = 3.0 if outcomes[0] is None else 4.0
    [last] = reader.snapshots(*TABLE)[-1:]
    assert last.parent_id == base
    assert month_values(reader) == [(1, winner)] * 3 + [(2, 2.0)] * 3
