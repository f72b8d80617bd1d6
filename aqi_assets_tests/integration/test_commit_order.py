"""A step writing two tables checks both before committing either: a failure leaves both at
their previous snapshot (silver's row balance, the hourly facts' blocking checks)."""

from __future__ import annotations

from datetime import date

import pytest
from pyspark.sql import functions as F

from aqi_assets.catalog.registry import (
    BRONZE_RAW,
    DIM_DATE,
    DIM_TIME,
    FACT_HOURLY,
    FACT_POLLUTANT_HOURLY,
    SILVER_HOURLY,
    SILVER_REJECTS,
    Check,
    TableSpec,
)
from aqi_assets.silver import silver_hourly
from aqi_assets_tests.materialize import materialize_range, materialize_reference

DAY = date(2024, 1, 1)
HOURLY_FACTS = [FACT_HOURLY.asset, FACT_POLLUTANT_HOURLY.asset]
SILVER = [SILVER_HOURLY.asset, SILVER_REJECTS.asset]


def snapshots(resources: dict, *tables: TableSpec) -> dict[str, int | None]:
    reader = resources["lakehouse"]
    return {t.asset: reader.current_snapshot_id(*t.table) for t in tables}


def failure_messages(result) -> str:
    return " ".join(
        e.step_failure_data.user_failure_data.description
        for e in result.get_step_failure_events()
        if e.step_failure_data.user_failure_data
    )


@pytest.fixture
def one_day(lakehouse_assets, pipeline_resources) -> None:
    """Bronze, silver, the dimensions and both hourly facts of one day."""
    materialize_reference(lakehouse_assets, pipeline_resources)
    selection = [BRONZE_RAW.asset, *SILVER, DIM_DATE.asset, *HOURLY_FACTS]
    assert materialize_range(lakehouse_assets, DAY, DAY, pipeline_resources, selection).success


def test_silver_that_would_lose_rows_commits_neither_table(
    one_day, lakehouse_assets, pipeline_resources, monkeypatch
) -> None:
    real = silver_hourly.split_ranked

    def losing_an_hour(*args, **kwargs):
        kept, rejected = real(*args, **kwargs)
        lost = (F.col("location_key") == "hanoi") & (F.hour("ts_utc") == 5)
        return kept.where(~lost), rejected

    monkeypatch.setattr(silver_hourly, "split_ranked", losing_an_hour)
    before = snapshots(pipeline_resources, SILVER_HOURLY, SILVER_REJECTS)
    result = materialize_range(
        lakehouse_assets, DAY, DAY, pipeline_resources, SILVER, raise_on_error=False
    )
    assert not result.success
    assert snapshots(pipeline_resources, SILVER_HOURLY, SILVER_REJECTS) == before
    assert not result.asset_materializations_for_node("silver")
    assert "Silver would lose rows: 72 in, 71 kept, 0 rejected" in failure_messages(result)


def test_a_fact_hourly_blocking_failure_leaves_fact_pollutant_hourly_unchanged(
    one_day, lakehouse_assets, pipeline_resources, spark
) -> None:
    before = snapshots(pipeline_resources, FACT_HOURLY, FACT_POLLUTANT_HOURLY)
    # An hour of day missing from dim_time fails only fact_hourly's time_key check.
    spark.sql(f"DELETE FROM {pipeline_resources['spark'].table(*DIM_TIME.table)} WHERE hour = 5")
    result = materialize_range(
        lakehouse_assets, DAY, DAY, pipeline_resources, HOURLY_FACTS, raise_on_error=False
    )
    assert not result.success
    failed = {
        (e.asset_key.to_user_string(), e.check_name)
        for e in result.get_asset_check_evaluations()
        if not e.passed
    }
    assert failed == {(FACT_HOURLY.asset, Check.TIME_FK.value)}
    assert not result.asset_materializations_for_node("hourly_facts")
    assert snapshots(pipeline_resources, FACT_HOURLY, FACT_POLLUTANT_HOURLY) == before
