"""How the project's Iceberg tables are laid out, rewritten and read back."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession

from resources.iceberg.schema_evolution import ADD_COLUMNS
from resources.iceberg.window_writes import SchemaMismatchError, replace_window, whole_months
from resources.spark import pyspark_compat
from resources.spark.spark_resource import SparkIcebergResource

START = datetime(2024, 1, 1, tzinfo=UTC)
DAYS = 60


def _hours(session: SparkSession, first: datetime, hours: int, value: float) -> DataFrame:
    rows = [(first + timedelta(hours=h), value) for h in range(hours)]
    return session.createDataFrame(rows, "ts timestamp, pm2_5 double")


def _values_by_day(session: SparkSession, table: str) -> dict[date, set[float]]:
    rows = session.sql(f"SELECT date(ts) AS day, pm2_5 FROM {table}").collect()
    out: dict[date, set[float]] = {}
    for row in rows:
        out.setdefault(row["day"], set()).add(row["pm2_5"])
    return out


def test_a_long_window_is_one_file_per_month_read_in_few_tasks(
    spark_resource: SparkIcebergResource,
) -> None:
    session = spark_resource.spark_session
    table = spark_resource.table("silver", "hourly")
    end = START + timedelta(days=DAYS)
    replace_window(_hours(session, START, 24 * DAYS, 1.0), table, "ts", START, end)

    files = session.sql(f"SELECT count(*) AS n FROM {table}.files").first()["n"]
    assert files == 2  # January and February 2024, not 60 daily files
    assert session.table(table).rdd.getNumPartitions() <= 2
    assert session.table(table).count() == 24 * DAYS


def test_one_day_inside_a_month_replaces_that_day_and_keeps_the_others(
    spark_resource: SparkIcebergResource,
) -> None:
    session = spark_resource.spark_session
    table = spark_resource.table("silver", "hourly")
    end = START + timedelta(days=DAYS)
    replace_window(_hours(session, START, 24 * DAYS, 1.0), table, "ts", START, end)
    day = START + timedelta(days=40)  # 2024-02-10

    write = replace_window(_hours(session, day, 20, 2.0), table, "ts", day, day + timedelta(days=1))

    assert (write.added_records, write.deleted_records) == (20, 24)
    assert write.total_records == 24 * DAYS - 4
    by_day = _values_by_day(session, table)
    assert by_day.pop(day.date()) == {2.0}
    assert len(by_day) == DAYS - 1
    assert all(values == {1.0} for values in by_day.values())
    assert session.table(table).count() == 24 * DAYS - 4


def test_rewriting_a_window_twice_gives_the_same_rows(
    spark_resource: SparkIcebergResource,
) -> None:
    session = spark_resource.spark_session
    table = spark_resource.table("silver", "hourly")
    replace_window(
        _hours(session, START, 24 * DAYS, 1.0), table, "ts", START, START + timedelta(60)
    )
    first, end = START + timedelta(days=30), START + timedelta(days=33)  # Jan 31 .. Feb 2
    for _ in range(2):
        replace_window(_hours(session, first, 72, 3.0), table, "ts", first, end)
    assert session.table(table).count() == 24 * DAYS
    by_day = _values_by_day(session, table)
    assert {d for d, v in by_day.items() if v == {3.0}} == {
        date(2024, 1, 31),
        date(2024, 2, 1),
        date(2024, 2, 2),
    }


def test_whole_months_around_a_window() -> None:
    assert whole_months(date(2024, 1, 1), date(2025, 10, 17)) == (
        date(2024, 1, 1),
        date(2025, 11, 1),
    )
    assert whole_months(date(2024, 12, 5), date(2024, 12, 6)) == (
        date(2024, 12, 1),
        date(2025, 1, 1),
    )
    hour = datetime(2024, 2, 10, 13, tzinfo=UTC)
    assert whole_months(hour, hour + timedelta(hours=1)) == (
        datetime(2024, 2, 1, tzinfo=UTC),
        datetime(2024, 3, 1, tzinfo=UTC),
    )
    assert whole_months(START, datetime(2024, 3, 1, tzinfo=UTC)) == (
        START,
        datetime(2024, 3, 1, tzinfo=UTC),
    )


def test_the_driver_scratch_folders_are_found_and_another_pyspark_has_none(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the 48-hour simulation counts its leftover shuffle files in."""
    spark.sql("SELECT id % 7 AS k, count(*) FROM range(1000) GROUP BY 1").collect()
    folders = pyspark_compat.driver_scratch_folders_after_gc()
    assert folders, "the driver's block manager has no folder"
    assert all(Path(folder).is_dir() for folder in folders), folders
    monkeypatch.setattr(pyspark_compat, "GATEWAY_USABLE", False)
    assert pyspark_compat.driver_scratch_folders_after_gc() == []


@pytest.mark.parametrize("spark_sql_fallback", [False, True])
def test_commit_summary_is_the_same_through_the_gateway_and_through_spark_sql(
    spark_resource: SparkIcebergResource, monkeypatch: pytest.MonkeyPatch, spark_sql_fallback: bool
) -> None:
    """On another PySpark version the compat module reads metadata tables instead of the JVM."""
    if spark_sql_fallback:
        monkeypatch.setattr(pyspark_compat, "GATEWAY_USABLE", False)
    session = spark_resource.spark_session
    table = spark_resource.table("silver", "compat")
    end = START + timedelta(days=3)
    first = replace_window(_hours(session, START, 72, 1.0), table, "ts", START, end)
    again = replace_window(
        _hours(session, START + timedelta(days=1), 24, 2.0),
        table,
        "ts",
        START + timedelta(days=1),
        START + timedelta(days=2),
    )
    assert (first.added_records, first.deleted_records, first.total_records) == (72, 0, 72)
    assert (again.added_records, again.deleted_records, again.total_records) == (24, 24, 72)
    assert again.snapshot_id != first.snapshot_id
    assert not pyspark_compat.is_unpartitioned(session, table)
    snapshots = {
        r["snapshot_id"] for r in session.sql(f"SELECT * FROM {table}.snapshots").collect()
    }
    assert {first.snapshot_id, again.snapshot_id} <= snapshots


def _table_of(spark_resource: SparkIcebergResource, columns: str, spec: str) -> str:
    """A table created by hand with `columns` (as an earlier version of an asset might have)."""
    session = spark_resource.spark_session
    table = spark_resource.table("silver", "drifted")
    session.sql(f"CREATE NAMESPACE IF NOT EXISTS {spark_resource.catalog_name}.silver")
    session.sql(f"CREATE TABLE {table} ({columns}) USING iceberg {spec}")
    session.sql(
        f"INSERT INTO {table} SELECT * FROM VALUES ({', '.join(['NULL'] * (columns.count(',') + 1))})"
    )
    return table


@pytest.mark.parametrize(
    ("columns", "difference", "advice"),
    [
        (
            "ts timestamp",
            "pm2_5 double: written, not in the table",
            "schema_evolution: add_columns",
        ),
        (
            "ts timestamp, pm2_5 double, pm10 double",
            "pm10: in the table, not written",
            "DROP TABLE",
        ),
        ("ts timestamp, pm2_5 float", "pm2_5: float in the table, double written", "DROP TABLE"),
    ],
    ids=["missing", "extra", "retyped"],
)
def test_a_table_of_another_schema_is_refused_naming_the_difference_and_left_alone(
    spark_resource: SparkIcebergResource, columns: str, difference: str, advice: str
) -> None:
    """Nothing is added or altered on the way: the write stops and says what to do."""
    session = spark_resource.spark_session
    table = _table_of(spark_resource, columns, "PARTITIONED BY (months(ts))")
    before = session.table(table).schema
    with pytest.raises(SchemaMismatchError) as refused:
        replace_window(_hours(session, START, 24, 1.0), table, "ts", START, START + timedelta(1))
    message = str(refused.value)
    assert difference in message
    assert message.count("\n  ") == 1, "only the column that differs is named"
    assert advice in message
    assert session.table(table).schema == before
    assert session.table(table).count() == 1


def test_an_unpartitioned_table_is_refused_for_window_writes(
    spark_resource: SparkIcebergResource,
) -> None:
    session = spark_resource.spark_session
    table = _table_of(spark_resource, "ts timestamp, pm2_5 double", "")
    with pytest.raises(SchemaMismatchError, match="is not partitioned"):
        replace_window(_hours(session, START, 24, 1.0), table, "ts", START, START + timedelta(1))
    assert session.table(table).count() == 1


def test_a_run_that_opts_in_adds_the_new_columns_and_keeps_the_old_rows(
    spark_resource: SparkIcebergResource,
) -> None:
    """schema_evolution: add_columns is the one explicit path: new columns, old rows null."""
    session = spark_resource.spark_session
    table = _table_of(spark_resource, "ts timestamp", "PARTITIONED BY (months(ts))")
    session.sql(f"INSERT INTO {table} VALUES (TIMESTAMP '2024-03-01 00:00:00')")
    write = replace_window(
        _hours(session, START, 24, 1.0), table, "ts", START, START + timedelta(1), ADD_COLUMNS
    )
    assert write.added_columns == ("pm2_5",)
    assert session.table(table).schema.fieldNames() == ["ts", "pm2_5"]
    march = session.table(table).where("ts >= '2024-03-01'").collect()
    assert [r["pm2_5"] for r in march] == [None], "rows of other months read null"
    assert session.table(table).where("pm2_5 = 1.0").count() == 24


def test_opting_in_never_drops_or_retypes_a_column(spark_resource: SparkIcebergResource) -> None:
    session = spark_resource.spark_session
    table = _table_of(spark_resource, "ts timestamp, pm2_5 float", "PARTITIONED BY (months(ts))")
    with pytest.raises(SchemaMismatchError, match="pm2_5: float in the table, double written"):
        replace_window(
            _hours(session, START, 24, 1.0), table, "ts", START, START + timedelta(1), ADD_COLUMNS
        )
    assert session.table(table).schema["pm2_5"].dataType.simpleString() == "float"
