"""Freshness: today's partition older than 2 hours is flagged, and clears once fresh data lands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg

from aqi_assets.freshness import build_freshness_checks


def run_checks(instance: dg.DagsterInstance, now: datetime) -> dict[str, dg.AssetCheckEvaluation]:
    checks = build_freshness_checks(clock=lambda: now)
    result = dg.materialize(
        [dg.AssetSpec("silver_hourly"), dg.AssetSpec("fact_hourly"), *checks],
        selection=dg.AssetSelection.all_asset_checks(),
        instance=instance,
    )
    return {e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations()}


def land(instance: dg.DagsterInstance, today: str) -> datetime:
    for key in ("silver_hourly", "fact_hourly"):
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=today))
    return datetime.now(UTC)


def test_freshness_flags_stale_and_clears_when_fresh_data_lands() -> None:
    today = datetime.now(UTC).date().isoformat()
    with dg.instance_for_test() as instance:
        never = run_checks(instance, datetime.now(UTC))
        assert not never["silver_hourly"].passed
        assert never["silver_hourly"].metadata["last_refresh"].value == "never"

        first = land(instance, today)
        fresh = run_checks(instance, first + timedelta(minutes=30))
        assert fresh["silver_hourly"].passed
        assert fresh["fact_hourly"].passed

        stale = run_checks(instance, first + timedelta(hours=3))
        assert not stale["silver_hourly"].passed
        assert not stale["fact_hourly"].passed
        assert stale["fact_hourly"].metadata["lag_minutes"].value >= 179
        assert stale["fact_hourly"].severity == dg.AssetCheckSeverity.WARN

        second = land(instance, today)
        cleared = run_checks(instance, second + timedelta(minutes=5))
        assert cleared["silver_hourly"].passed
        assert cleared["fact_hourly"].passed
