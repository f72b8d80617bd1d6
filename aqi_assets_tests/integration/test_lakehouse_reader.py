"""LakehouseReader: pyiceberg reads what Spark wrote to the Hadoop catalog, always at the newest commit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.expressions import And, EqualTo, GreaterThanOrEqual
from pyspark.sql import DataFrame, SparkSession

from aqi_assets.catalog.registry import DIM_POLLUTANT, FACT_CITY_DAILY
from resources.iceberg.lakehouse_reader import LakehouseReader, TableNotFoundError
from resources.iceberg.window_writes import WriteResult, replace_table, replace_window
from resources.spark.spark_resource import SparkIcebergResource

START = datetime(2024, 1, 1, tzinfo=UTC)
END = START + timedelta(days=3)
JANUARY_2024 = (2024 - 1970) * 12  # Iceberg's month transform: months since 1970-01


def _hourly(spark: SparkSession, offset: float = 0.0) -> DataFrame:
    """72 hourly rows over START..END, two locations alternating, pm2_5 = hour + offset."""
    rows = [
        (START + timedelta(hours=h), "hanoi" if h % 2 else "hcmc", h + offset) for h in range(72)
    ]
    return spark.createDataFrame(rows, "ts timestamp, location_key string, pm2_5 double")


def _spark_snapshot_ids(spark: SparkSession, table: str) -> list[int]:
    rows = spark.sql(f"SELECT snapshot_id FROM {table}.snapshots ORDER BY committed_at").collect()
    return [row["snapshot_id"] for row in rows]


@pytest.fixture
def session(spark_resource: SparkIcebergResource) -> SparkSession:
    """The shared SparkSession with this test's catalog registered on it."""
    return spark_resource.spark_session


@pytest.fixture
def reader(spark_resource: SparkIcebergResource) -> LakehouseReader:
    """A reader on the same warehouse as `spark_resource`."""
    return LakehouseReader(warehouse=spark_resource.warehouse)


@pytest.fixture
def hourly_table(session: SparkSession, spark_resource: SparkIcebergResource) -> str:
    """Spark name of silver.hourly, partitioned by months(ts) and holding the 72 rows of `_hourly`."""
    table = spark_resource.table("silver", "hourly")
    _write(session, table)
    return table


def _write(spark: SparkSession, table: str, offset: float = 0.0) -> WriteResult:
    return replace_window(_hourly(spark, offset), table, "ts", START, END)


def test_counts_partitions_and_files_match_what_spark_wrote(
    reader: LakehouseReader, hourly_table: str
) -> None:
    assert reader.table_exists("silver", "hourly")
    assert reader.row_count("silver", "hourly") == 72

    [partition] = reader.partitions("silver", "hourly")  # the three days are in January 2024
    assert partition.partition == {"ts_month": JANUARY_2024}
    assert (partition.record_count, partition.file_count) == (72, 1)

    files = reader.files("silver", "hourly")
    assert sum(f.record_count for f in files) == 72
    assert {f.partition["ts_month"] for f in files} == {JANUARY_2024}
    assert all(f.path.endswith(".parquet") and f.file_size_in_bytes > 0 for f in files)


def test_snapshots_follow_spark_commits_and_rewrites_replace(
    session: SparkSession, reader: LakehouseReader, hourly_table: str
) -> None:
    before = reader.snapshots("silver", "hourly")
    assert [s.snapshot_id for s in before] == _spark_snapshot_ids(session, hourly_table)
    assert reader.current_snapshot_id("silver", "hourly") == before[-1].snapshot_id

    written = _write(session, hourly_table, offset=1000.0)

    after = reader.snapshots("silver", "hourly")
    assert [s.snapshot_id for s in after] == _spark_snapshot_ids(session, hourly_table)
    assert len(after) == len(before) + 1
    latest = after[-1]
    assert (
        reader.current_snapshot_id("silver", "hourly") == latest.snapshot_id == written.snapshot_id
    )
    assert latest.parent_id == before[-1].snapshot_id
    assert (latest.operation, latest.added_records, latest.deleted_records) == ("overwrite", 72, 72)
    assert latest.total_records == 72
    assert latest.committed_at.tzinfo == UTC
    assert latest.committed_at >= before[-1].committed_at

    assert reader.row_count("silver", "hourly") == 72
    values = reader.read_arrow("silver", "hourly", selected_fields=("pm2_5",))["pm2_5"]
    assert sorted(values.to_pylist()) == [h + 1000.0 for h in range(72)]


def test_filtered_count_and_read(reader: LakehouseReader, hourly_table: str) -> None:
    day_two = "ts >= '2024-01-02T00:00:00+00:00' AND ts < '2024-01-03T00:00:00+00:00'"
    assert reader.row_count("silver", "hourly", day_two) == 24
    assert reader.row_count("silver", "hourly", "ts >= '2024-01-02T12:00:00+00:00'") == 36
    hanoi_day_three = And(
        EqualTo("location_key", "hanoi"), GreaterThanOrEqual("ts", "2024-01-03T00:00:00+00:00")
    )
    assert reader.row_count("silver", "hourly", hanoi_day_three) == 12

    table = reader.read_arrow("silver", "hourly", day_two, selected_fields=("ts", "pm2_5"))
    assert table.column_names == ["ts", "pm2_5"]
    assert table.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert sorted(table["ts"].to_pylist()) == [
        datetime(2024, 1, 2, tzinfo=UTC) + timedelta(hours=h) for h in range(24)
    ]


def test_missing_table_names_table_warehouse_and_asset(reader: LakehouseReader) -> None:
    assert not reader.table_exists(*FACT_CITY_DAILY.table)
    with pytest.raises(TableNotFoundError) as raised:
        reader.row_count(*FACT_CITY_DAILY.table)
    message = str(raised.value)
    assert "gold.fact_city_daily" in message
    assert reader.warehouse in message
    assert "materialize the `fact_city_daily` asset first" in message
    assert isinstance(raised.value, LookupError)


def test_plain_path_and_missing_or_stale_version_hint(
    session: SparkSession, warehouse: Path, hourly_table: str
) -> None:
    _write(session, hourly_table, offset=1.0)
    newest = _spark_snapshot_ids(session, hourly_table)[-1]
    reader = LakehouseReader(warehouse=str(warehouse))
    hint = warehouse / "silver" / "hourly" / "metadata" / "version-hint.text"
    version = int(hint.read_text())

    hint.write_text(str(version - 1))
    assert reader.load("silver", "hourly").metadata_location.endswith(f"/v{version}.metadata.json")
    assert reader.current_snapshot_id("silver", "hourly") == newest

    hint.unlink()
    assert reader.load("silver", "hourly").metadata_location.endswith(f"/v{version}.metadata.json")
    assert reader.current_snapshot_id("silver", "hourly") == newest
    assert reader.row_count("silver", "hourly") == 72


def test_unpartitioned_table_has_one_partition(
    session: SparkSession, spark_resource: SparkIcebergResource, reader: LakehouseReader
) -> None:
    rows = [(i, f"pollutant-{i}") for i in range(10)]
    frame = session.createDataFrame(rows, "pollutant_id int, name string")
    replace_table(frame, spark_resource.table(*DIM_POLLUTANT.table))

    assert reader.row_count(*DIM_POLLUTANT.table) == 10
    [partition] = reader.partitions(*DIM_POLLUTANT.table)
    assert (partition.partition, partition.record_count) == ({}, 10)
    assert all(f.partition == {} for f in reader.files(*DIM_POLLUTANT.table))


def test_created_but_never_written_table_is_empty(
    session: SparkSession, spark_resource: SparkIcebergResource, reader: LakehouseReader
) -> None:
    session.sql(f"CREATE NAMESPACE {spark_resource.catalog_name}.silver")
    session.sql(
        f"CREATE TABLE {spark_resource.table('silver', 'hourly')} (ts timestamp, pm2_5 double) "
        "USING iceberg PARTITIONED BY (days(ts))"
    )

    assert reader.table_exists("silver", "hourly")
    assert reader.current_snapshot_id("silver", "hourly") is None
    assert reader.snapshots("silver", "hourly") == []
    assert reader.partitions("silver", "hourly") == []
    assert reader.files("silver", "hourly") == []
    assert reader.row_count("silver", "hourly") == 0
    assert reader.read_arrow("silver", "hourly").num_rows == 0
