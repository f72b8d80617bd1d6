"""How the project's Iceberg tables are laid out and read back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pyspark.sql import functions as F

from resources.iceberg_writes import replace_window
from resources.spark import SparkIcebergResource

START = datetime(2024, 1, 1, tzinfo=UTC)
DAYS = 60


def test_a_long_window_of_daily_files_is_read_in_few_tasks(
    spark_resource: SparkIcebergResource,
) -> None:
    session = spark_resource.spark_session
    table = spark_resource.table("silver", "hourly")
    rows = [(START + timedelta(hours=h), float(h)) for h in range(24 * DAYS)]
    frame = session.createDataFrame(rows, "ts timestamp, pm2_5 double")
    end = START + timedelta(days=DAYS)
    replace_window(frame, table, "ts", START, end, [F.days("ts")])

    files = session.sql(f"SELECT count(*) AS n FROM {table}.files").first()["n"]
    assert files == DAYS
    # 32 one-day files per task (Iceberg's adaptive split size would make it 4 per task).
    assert session.table(table).rdd.getNumPartitions() == 2
    assert session.table(table).count() == 24 * DAYS
