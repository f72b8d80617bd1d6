"""Freshness: today's partition older than 2 hours is flagged, and clears once fresh data lands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg

from aqi_assets.catalog.registry import FACT_HOURLY, SILVER_HOURLY
from aqi_assets.orchestration.freshness import build_freshness_checks


def run_checks(instance: dg.DagsterInstance, now: datetime) -> dict[str, dg.AssetCheckEvaluation]:
    checks = build_freshness_checks(clock=lambda: now)
    result = dg.materialize(
        [dg.AssetSpec(SILVER_HOURLY.asset), dg.AssetSpec(FACT_HOURLY.asset), *checks],
        selection=dg.AssetSelection.all_asset_checks(),
        instance=instance,
    )
    return {e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations()}


def land(instance: dg.DagsterInstance, today: str) -> datetime:
    for key in (SILVER_HOURLY.asset, FACT_HOURLY.asset):
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=today))
    return datetime.now(UTC)


def test_freshness_flags_stale_and_clears_when_fresh_data_lands() -> None:
    today = datetime.now(UTC).date().isoformat()
    with dg.instance_for_test() as instance:
        never = run_checks(instance, datetime.now(UTC))
        assert not never[SILVER_HOURLY.asset].passed
        assert never[SILVER_HOURLY.asset].metadata["last_refresh"].value == "never"

        first = land(instance, today)
        fresh = run_checks(instance, first + timedelta(minutes=30))
        assert fresh[SILVER_HOURLY.asset].passed
        assert fresh[FACT_HOURLY.asset].passed

        stale = run_checks(instance, first + timedelta(hours=3))
        assert not stale[SILVER_HOURLY.asset].passed
        assert not stale[FACT_HOURLY.asset].passed
        assert stale[FACT_HOURLY.asset].metadata["lag_minutes"].value >= 179
        assert stale[FACT_HOURLY.asset].severity == dg.AssetCheckSeverity.WARN

        second = land(instance, today)
        cleared = run_checks(instance, second + timedelta(minutes=5))
        assert cleared[SILVER_HOURLY.asset].passed
        assert cleared[FACT_HOURLY.asset].passed
