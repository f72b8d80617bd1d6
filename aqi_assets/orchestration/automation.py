"""The hourly refresh: declarative automation conditions and the sensor that evaluates them.

Ingestion itself (bronze_raw for today and the days not final yet, and the AQI forecast) is
requested by the `ingest_open_days` sensor (aqi_assets/ingest/open_days_sensor.py): which days are final is
instance metadata, which a declarative condition cannot read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import dagster as dg

from aqi_assets.catalog.registry import BY_KEY, Refresh
from aqi_assets.ingest.open_days_sensor import LOOKBACK_DAYS

REFERENCE_CRON = "15 0 * * *"
TODAY = dg.AutomationCondition.in_latest_time_window()
# Today and every day the ingest sensor may still refresh (not final yet).
OPEN_DAYS = dg.AutomationCondition.in_latest_time_window(timedelta(days=LOOKBACK_DAYS + 1))


def requested_by_ingest_sensor() -> None:
    """No condition: the `ingest_open_days` sensor requests these tables."""
    return None


def follow_upstream_condition() -> dg.AutomationCondition:
    """Follow upstream updates of the days still refreshed, never past a failed blocking check."""
    return (
        dg.AutomationCondition.eager().replace(TODAY, OPEN_DAYS)
        & dg.AutomationCondition.all_deps_blocking_checks_passed()
    ).with_label("after upstream (days not final yet), blocking checks passed")


def whole_history_condition() -> dg.AutomationCondition:
    """Rebuild once any upstream updated and nothing upstream is running (the report).

    An unpartitioned asset over daily partitions reads the whole history: `eager()` would wait
    for every partition since the start to exist and to have passed its checks. A failed
    blocking check leaves its table unchanged, so rebuilding after the others is safe.
    """
    return (
        dg.AutomationCondition.any_deps_updated().since_last_handled()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("after any upstream update, once nothing upstream is running")


def reference_condition() -> dg.AutomationCondition:
    """Rebuild reference dimensions daily (picks up edited reference files) and when missing."""
    return (
        dg.AutomationCondition.on_cron(REFERENCE_CRON, "UTC") | dg.AutomationCondition.on_missing()
    ).with_label("daily at 00:15 UTC, or when missing")


CONDITIONS = {
    Refresh.INGEST: requested_by_ingest_sensor,
    Refresh.FORECAST: requested_by_ingest_sensor,
    Refresh.REFERENCE: reference_condition,
    Refresh.DOWNSTREAM: follow_upstream_condition,
    Refresh.CALENDAR: dg.AutomationCondition.on_missing,
}


def condition_for(spec: dg.AssetSpec) -> dg.AutomationCondition | None:
    """The automation condition of one asset, by the refresh mode its table declares.

    An asset that is not a table (the report) follows any update of its upstream.
    """
    table = BY_KEY.get(spec.key)
    return CONDITIONS[table.refresh]() if table else whole_history_condition()


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
        description=(
            "Downstream tables after their upstream updated (ingestion: ingest_open_days), "
            "reference dimensions daily."
        ),
    )
