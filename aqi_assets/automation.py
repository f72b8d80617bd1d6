"""The hourly refresh: declarative automation conditions and the sensor that evaluates them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import dagster as dg

from aqi_assets.registry import BY_KEY, Refresh

HOURLY_CRON = "5 * * * *"
# During the first hours of a UTC day yesterday is re-ingested too, so late hours land.
LATE_DATA_CRON = "5 0-5 * * *"
REFERENCE_CRON = "15 0 * * *"
TODAY = dg.AutomationCondition.in_latest_time_window()
# "within 2 days of the end of the latest window" = the windows of today and yesterday.
TODAY_AND_YESTERDAY = dg.AutomationCondition.in_latest_time_window(timedelta(days=2))


def ingest_condition() -> dg.AutomationCondition:
    """Re-ingest today every hour, and yesterday as well in the first hours of the day."""
    hourly = dg.AutomationCondition.cron_tick_passed(HOURLY_CRON, "UTC") & TODAY
    late = dg.AutomationCondition.cron_tick_passed(LATE_DATA_CRON, "UTC") & TODAY_AND_YESTERDAY
    return ((hourly | late) & ~dg.AutomationCondition.in_progress()).with_label(
        "hourly: today (and yesterday early in the day)"
    )


def follow_upstream_condition() -> dg.AutomationCondition:
    """Follow upstream updates of today and yesterday, never past a failed blocking check."""
    return (
        dg.AutomationCondition.eager().replace(TODAY, TODAY_AND_YESTERDAY)
        & dg.AutomationCondition.all_deps_blocking_checks_passed()
    ).with_label("after upstream (today and yesterday), blocking checks passed")


def reference_condition() -> dg.AutomationCondition:
    """Rebuild reference dimensions daily (picks up edited reference files) and when missing."""
    return (
        dg.AutomationCondition.on_cron(REFERENCE_CRON, "UTC") | dg.AutomationCondition.on_missing()
    ).with_label("daily at 00:15 UTC, or when missing")


CONDITIONS = {
    Refresh.INGEST: ingest_condition,
    Refresh.REFERENCE: reference_condition,
    Refresh.DOWNSTREAM: follow_upstream_condition,
    Refresh.CALENDAR: dg.AutomationCondition.on_missing,
}


def condition_for(spec: dg.AssetSpec) -> dg.AutomationCondition:
    """The automation condition of one asset, by the refresh mode its table declares."""
    return CONDITIONS[BY_KEY[spec.key].refresh]()


def with_automation(assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """Attach the refresh conditions to `assets`."""
    return list(
        dg.map_asset_specs(
            lambda spec: spec.replace_attributes(automation_condition=condition_for(spec)), assets
        )
    )


def refresh_sensor(running: bool) -> dg.AutomationConditionSensorDefinition:
    """The sensor that evaluates every condition; running by default unless AQI_AUTOMATION=off."""
    return dg.AutomationConditionSensorDefinition(
        "hourly_refresh",
        target=dg.AssetSelection.all(include_sources=False),
        default_status=dg.DefaultSensorStatus.RUNNING
        if running
        else dg.DefaultSensorStatus.STOPPED,
        minimum_interval_seconds=30,
        description="Today's data hourly (yesterday too early in the day), downstream after upstream.",
    )
