"""The hourly refresh requests the right partitions at the right time, and stops at failed checks."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest

TODAY = "2026-03-10"
YESTERDAY = "2026-03-09"


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def requested(result: dg.EvaluateAutomationConditionsResult, key: str) -> set[str]:
    """Partition keys requested for `key` in one evaluation."""
    subset = result.get_requested_partitions(dg.AssetKey(key))
    return set(subset)


def evaluate_pair(assets, instance, first: datetime, second: datetime):
    """Two ticks: the second sees what happened since the first (cron ticks, new materializations)."""
    start = dg.evaluate_automation_conditions(defs=assets, instance=instance, evaluation_time=first)
    return dg.evaluate_automation_conditions(
        defs=assets, instance=instance, evaluation_time=second, cursor=start.cursor
    )


def at(hour: int, minute: int, day: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def materialized(instance: dg.DagsterInstance, key: str, partition: str | None = None) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=partition))


def test_bronze_refreshes_today_every_hour(lakehouse_assets, instance) -> None:
    result = evaluate_pair(lakehouse_assets, instance, at(10, 0), at(10, 6))
    assert requested(result, "bronze_raw") == {TODAY}
    quiet = dg.evaluate_automation_conditions(
        defs=lakehouse_assets, instance=instance, evaluation_time=at(10, 30), cursor=result.cursor
    )
    assert requested(quiet, "bronze_raw") == set()


def test_yesterday_is_refreshed_in_the_early_hours(lakehouse_assets, instance) -> None:
    early = evaluate_pair(lakehouse_assets, instance, at(2, 0), at(2, 6))
    assert requested(early, "bronze_raw") == {TODAY, YESTERDAY}
    late = evaluate_pair(lakehouse_assets, instance, at(9, 0), at(9, 6))
    assert requested(late, "bronze_raw") == {TODAY}


def test_downstream_follows_upstream_and_stops_at_a_failed_blocking_check(
    lakehouse_assets, instance
) -> None:
    for key in ("dim_location", "dim_pollutant", "dim_time"):
        materialized(instance, key)
    materialized(instance, "dim_date", TODAY)
    first = dg.evaluate_automation_conditions(
        defs=lakehouse_assets, instance=instance, evaluation_time=at(10, 20)
    )
    materialized(instance, "bronze_raw", TODAY)
    after_bronze = dg.evaluate_automation_conditions(
        defs=lakehouse_assets, instance=instance, evaluation_time=at(10, 21), cursor=first.cursor
    )
    assert requested(after_bronze, "silver_hourly") == {TODAY}
    assert requested(after_bronze, "fact_hourly") == {TODAY}, (
        "requested in the same run, after silver"
    )

    materialized(instance, "silver_hourly", TODAY)
    instance.report_runless_asset_event(
        dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey("silver_hourly"),
            check_name="unique_key",
            passed=False,
            blocking=True,
            partition=TODAY,
        )
    )
    gated = dg.evaluate_automation_conditions(
        defs=lakehouse_assets,
        instance=instance,
        evaluation_time=at(10, 30),
        cursor=after_bronze.cursor,
    )
    assert requested(gated, "fact_hourly") == set()
