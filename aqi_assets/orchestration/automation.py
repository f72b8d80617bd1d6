"""What the hourly refresh run does not cover: declarative conditions and their sensor.

Each refresh is one run requested by the `ingest_open_days` sensor
(aqi_assets/ingest/open_days_sensor.py): bronze of today and the days not final yet (instance
metadata, which a declarative condition cannot read), silver, every gold table of those days,
the dimensions, the forecast and the report. An update made by a run that also selected an
asset never triggers that asset (`any_deps_updated` ignores it), so the conditions below fire
only for what no refresh run did: a late or manual upstream materialization.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import dagster as dg

from aqi_assets.catalog.registry import BY_KEY, Refresh
from aqi_assets.ingest.open_days_sensor import LOOKBACK_DAYS

TODAY = dg.AutomationCondition.in_latest_time_window()
# Today and every day the ingest sensor may still refresh (not final yet).
OPEN_DAYS = dg.AutomationCondition.in_latest_time_window(timedelta(days=LOOKBACK_DAYS + 1))


def requested_by_ingest_sensor() -> None:
    """No condition: every `ingest_open_days` run rebuilds these tables (ingest, forecast,
    reference dimensions, the refreshed days' dim_date), from an empty instance on."""
    return None


def follow_upstream_condition() -> dg.AutomationCondition:
    """Follow upstream updates of the days still refreshed, never past a failed blocking check."""
    return (
        dg.AutomationCondition.eager().replace(TODAY, OPEN_DAYS)
        & dg.AutomationCondition.all_deps_blocking_checks_passed()
    ).with_label("after upstream (days not final yet), blocking checks passed")


def whole_history_condition() -> dg.AutomationCondition:
    """Rebuild once an upstream updated, only after every upstream settled (the report).

    An unpartitioned asset over daily partitions reads the whole history: `eager()` would wait
    for every partition since the start to exist and to have passed its checks. Never in the
    tick an upstream is requested nor while one runs, so the page shows the gold of the whole
    update, not half of it. A failed blocking check leaves its table unchanged, so rebuilding
    after the others is safe.
    """
    # `will_be_requested()` sees only upstreams that can share the report's run (unpartitioned):
    # the upstreams' own condition, evaluated here, says which facts this tick requests.
    upstream_due = dg.AutomationCondition.any_deps_match(follow_upstream_condition())
    return (
        dg.AutomationCondition.any_deps_updated().since_last_handled()
        & ~upstream_due.with_label("no upstream requested this tick")
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("after an upstream update, once no upstream is requested or running")


CONDITIONS = {
    Refresh.INGEST: requested_by_ingest_sensor,
    Refresh.FORECAST: requested_by_ingest_sensor,
    Refresh.REFERENCE: requested_by_ingest_sensor,
    Refresh.DOWNSTREAM: follow_upstream_condition,
    Refresh.CALENDAR: requested_by_ingest_sensor,
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
            "What no ingest_open_days run covered: downstream tables after a late or manual "
            "upstream update, the report once its upstream settled."
        ),
    )
