"""Materialization metadata with Dagster's meaning: `dagster/row_count` is the table's rows,
each partition of a range its own `dagster/partition_row_count`, the Iceberg table's name and
a described column schema."""

from __future__ import annotations

from datetime import date

from aqi_assets.catalog.columns import column_descriptions
from aqi_assets.catalog.registry import BRONZE_RAW, SILVER_HOURLY, SILVER_REJECTS
from aqi_assets_tests.materialize import materialize_range

FIRST, LAST = date(2024, 1, 1), date(2024, 1, 3)


def test_a_range_reports_table_rows_and_each_partitions_own(
    lakehouse_assets, pipeline_resources, spark
) -> None:
    spark_resource = pipeline_resources["spark"]
    assert materialize_range(lakehouse_assets, FIRST, LAST, pipeline_resources, BRONZE_RAW.asset)
    # Days that differ: 2024-01-02 loses Ha Noi's day, 2024-01-03 one hour of Da Nang.
    bronze = spark_resource.table(*BRONZE_RAW.table)
    spark.sql(
        f"DELETE FROM {bronze} WHERE (location_key = 'hanoi' AND event_date = DATE'2024-01-02')"
        " OR (location_key = 'danang' AND time = '2024-01-03T07:00')"
    )
    result = materialize_range(
        lakehouse_assets,
        FIRST,
        LAST,
        pipeline_resources,
        [SILVER_HOURLY.asset, SILVER_REJECTS.asset],
    )
    events = [
        m
        for m in result.asset_materializations_for_node("silver")
        if m.asset_key == SILVER_HOURLY.key
    ]
    counts = {m.partition: m.metadata["dagster/partition_row_count"].value for m in events}
    assert counts == {"2024-01-01": 72, "2024-01-02": 48, "2024-01-03": 71}
    name = spark_resource.table(*SILVER_HOURLY.table)
    total = spark.table(name).count()
    assert total == 191
    metadata = events[0].metadata
    assert metadata["dagster/row_count"].value == total
    assert metadata["dagster/table_name"].value == name
    columns = metadata["dagster/column_schema"].value.columns
    assert [c.name for c in columns] == spark.table(name).columns
    assert {c.name: c.description for c in columns} == column_descriptions(SILVER_HOURLY)
