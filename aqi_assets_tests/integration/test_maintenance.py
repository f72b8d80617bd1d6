"""Maintenance compacts small files and expires snapshots without changing table content."""

from __future__ import annotations

from datetime import date

from aqi_assets.catalog.registry import BRONZE_RAW
from aqi_assets.orchestration.maintenance import iceberg_maintenance
from aqi_assets_tests.materialize import materialize_range


def content(reader) -> list[tuple]:
    table = reader.read_arrow(*BRONZE_RAW.table).select(["location_key", "time", "pm2_5"])
    return sorted(tuple(r.values()) for r in table.to_pylist())


def test_compaction_and_expiry_keep_the_rows(lakehouse_assets, pipeline_resources) -> None:
    reader = pipeline_resources["lakehouse"]
    for _ in range(
        4
    ):  # four "hourly refreshes" of the same days: snapshots and small files pile up
        materialize_range(
            lakehouse_assets,
            date(2024, 1, 1),
            date(2024, 1, 2),
            pipeline_resources,
            BRONZE_RAW.asset,
        )
    # Rewrite the same rows as four small files, the layout compaction exists for.
    spark = pipeline_resources["spark"]
    name = spark.table(*BRONZE_RAW.table)
    session = spark.spark_session
    session.table(name).repartition(4).writeTo(name).option(
        "distribution-mode", "none"
    ).overwritePartitions()
    rows_before = content(reader)
    snapshots_before = len(reader.snapshots(*BRONZE_RAW.table))
    files_before = len(reader.files(*BRONZE_RAW.table))
    assert files_before == 4

    result = iceberg_maintenance.execute_in_process(
        resources={"spark": pipeline_resources["spark"]},
        run_config={
            "ops": {
                name: {"config": {"keep_snapshots_days": 0, "retain_last": 1, "min_input_files": 2}}
                for name in [n.name for n in iceberg_maintenance.nodes]
            }
        },
    )
    assert result.success
    observed = [e for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"]
    assert [e.asset_key.to_user_string() for e in observed] == [BRONZE_RAW.asset], (
        "only existing tables"
    )
    assert len(reader.snapshots(*BRONZE_RAW.table)) == 1 < snapshots_before
    assert len(reader.files(*BRONZE_RAW.table)) == 1, "one month of rows: one compacted file"
    rows_after = content(reader)
    assert rows_after == rows_before
