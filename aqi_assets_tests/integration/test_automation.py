"""The hourly refresh requests the right partitions at the right time, and stops at failed checks."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest

from aqi_assets.catalog.registry import (
    BRONZE_RAW,
    DIM_DATE,
    DIM_LOCATION,
    DIM_POLLUTANT,
    DIM_TIME,
    FACT_AQI_FORECAST,
    FACT_HOURLY,
    FACT_POLLUTANT_HOURLY,
    SILVER_HOURLY,
    SILVER_REJECTS,
    TableSpec,
)
from aqi_assets.config.settings import load_settings
from aqi_assets.definitions import build_definitions

TODAY = "2026-03-10"


@pytest.fixture(scope="module")
def defs(tmp_path_factory: pytest.TempPathFactory) -> dg.Definitions:
    """The real code location (assets, checks, sensors) on a scratch warehouse."""
    warehouse = tmp_path_factory.mktemp("automation-warehouse")
    return build_definitions(load_settings({"AQI_WAREHOUSE": warehouse.as_uri()}))


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


def test_ingestion_is_left_to_the_open_days_sensor(defs, instance) -> None:
    """bronze_raw and the forecast have no condition: ingest_open_days requests them."""
    result = evaluate_pair(defs, instance, at(10, 0), at(10, 6))
    assert requested(result, BRONZE_RAW.asset) == set()
    assert requested(result, FACT_AQI_FORECAST.asset) == set()


def report_check(
    instance: dg.DagsterInstance, name: str, passed: bool, table: TableSpec = SILVER_HOURLY
) -> None:
    instance.report_runless_asset_event(
        dg.AssetCheckEvaluation(
            asset_key=table.key,
            check_name=name,
            passed=passed,
            blocking=True,
            partition=TODAY,
        )
    )


@pytest.fixture
def bronze_landed(defs, instance):
    """Reference dims and today's dim_date exist; bronze just landed today's partition."""
    for key in (DIM_LOCATION.asset, DIM_POLLUTANT.asset, DIM_TIME.asset):
        materialized(instance, key)
    materialized(instance, DIM_DATE.asset, TODAY)
    first = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, evaluation_time=at(10, 20)
    )
    materialized(instance, BRONZE_RAW.asset, TODAY)
    return dg.evaluate_automation_conditions(
        defs=defs, instance=instance, evaluation_time=at(10, 21), cursor=first.cursor
    )


def test_silver_follows_bronze_and_gold_waits_for_its_checks(bronze_landed) -> None:
    assert requested(bronze_landed, SILVER_HOURLY.asset) == {TODAY}
    assert requested(bronze_landed, FACT_HOURLY.asset) == set()


@pytest.mark.parametrize(("unique_passed", "expected"), [(True, {TODAY}), (False, set())])
def test_gold_follows_its_upstream_only_when_blocking_checks_pass(
    defs, instance, bronze_landed, unique_passed: bool, expected: set[str]
) -> None:
    materialized(instance, SILVER_HOURLY.asset, TODAY)
    materialized(instance, SILVER_REJECTS.asset, TODAY)
    for decl in SILVER_HOURLY.checks:
        if decl.blocking:
            report_check(instance, decl.name.value, unique_passed or decl.name != "unique_key")
    after = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, evaluation_time=at(10, 30), cursor=bronze_landed.cursor
    )
    # One step writes both hourly facts: they are requested together, on the same tick.
    assert requested(after, FACT_POLLUTANT_HOURLY.asset) == expected
    assert requested(after, FACT_HOURLY.asset) == expected
