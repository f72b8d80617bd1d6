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
    FACT_CITY_DAILY,
    FACT_EPISODE,
    FACT_HOURLY,
    FACT_POLLUTANT_HOURLY,
    SILVER_HOURLY,
    SILVER_REJECTS,
    TableSpec,
)
from aqi_assets.config.settings import load_settings
from aqi_assets.definitions import build_definitions
from aqi_assets.report.asset import REPORT_KEY

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


@pytest.mark.parametrize("hour", [0, 13])
def test_a_fresh_instance_leaves_its_first_build_to_the_sensors_one_run(
    defs, instance, hour: int
) -> None:
    """From empty, the automation requests nothing (not even the missing dimensions) at any
    hour, so it never races the sensor's first refresh run, which builds them all."""
    result = evaluate_pair(defs, instance, at(hour, 14), at(hour, 16))
    # (The freshness checks run on their own cron; they build nothing.)
    keys = defs.resolve_asset_graph().get_all_asset_keys()
    assert {key.to_user_string(): requested(result, key.to_user_string()) for key in keys} == {
        key.to_user_string(): set() for key in keys
    }
    for dim in (DIM_LOCATION, DIM_POLLUTANT, DIM_TIME, DIM_DATE):
        assert defs.resolve_asset_graph().get(dim.key).automation_condition is None, dim.asset


def test_the_report_waits_until_the_gold_of_an_upstream_update_settled(defs, instance) -> None:
    """A manual fact_hourly update: its daily facts are requested first, the report only in a
    later tick, once they landed; never in the same tick nor while they are requested."""
    for key in (DIM_LOCATION.asset, DIM_POLLUTANT.asset, DIM_TIME.asset, REPORT_KEY.path[0]):
        materialized(instance, key)
    materialized(instance, DIM_DATE.asset, TODAY)
    first = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, evaluation_time=at(11, 0)
    )
    materialized(instance, FACT_HOURLY.asset, TODAY)
    for decl in FACT_HOURLY.checks:
        if decl.blocking:
            report_check(instance, decl.name.value, True, FACT_HOURLY)
    facts = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, evaluation_time=at(11, 1), cursor=first.cursor
    )
    assert requested(facts, FACT_CITY_DAILY.asset) == {TODAY}
    assert requested(facts, FACT_EPISODE.asset) == {TODAY}
    assert requested(facts, REPORT_KEY.path[0]) == set()
    materialized(instance, FACT_CITY_DAILY.asset, TODAY)
    materialized(instance, FACT_EPISODE.asset, TODAY)
    report = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, evaluation_time=at(11, 2), cursor=facts.cursor
    )
    assert requested(report, REPORT_KEY.path[0]) == {None}
    assert report.total_requested == 1


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
