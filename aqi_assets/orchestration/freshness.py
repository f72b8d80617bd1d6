"""Freshness: the newest partition of the hourly tables must have been refreshed within 2 hours."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import dagster as dg

from aqi_assets.catalog.registry import BY_KEY, TableSpec, tables_where

FRESHNESS_LIMIT = timedelta(hours=2)
FRESHNESS_CRON = "*/15 * * * *"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def latest_partition_update(
    instance: dg.DagsterInstance, table: TableSpec, partition: str
) -> datetime | None:
    """When `partition` of `table` was last materialized, or None if never."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=table.key, asset_partitions=[partition]), limit=1
    ).records
    return datetime.fromtimestamp(records[0].timestamp, UTC) if records else None


def build_freshness_checks(
    clock: Callable[[], datetime] = _utc_now,
) -> list[dg.AssetChecksDefinition]:
    """One `data_freshness` check per hourly table, evaluated every 15 minutes by automation."""

    def build(table: TableSpec) -> dg.AssetChecksDefinition:
        @dg.asset_check(
            asset=table.key,
            name="data_freshness",
            description=(
                f"today's (or, just after midnight, yesterday's) partition was refreshed less "
                f"than {FRESHNESS_LIMIT} ago"
            ),
            blocking=False,
            automation_condition=dg.AutomationCondition.cron_tick_passed(FRESHNESS_CRON, "UTC"),
        )
        def data_freshness(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
            now = clock()
            today = now.date().isoformat()
            recent = [today, (now.date() - timedelta(days=1)).isoformat()]
            refreshes = [latest_partition_update(context.instance, table, day) for day in recent]
            updated = max((r for r in refreshes if r), default=None)
            lag = None if updated is None else now - updated
            passed = lag is not None and lag <= FRESHNESS_LIMIT
            return dg.AssetCheckResult(
                passed=passed,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "partition": today,
                    "last_refresh": updated.isoformat() if updated else "never",
                    "lag_minutes": round(lag.total_seconds() / 60, 1) if lag else -1.0,
                    "limit_minutes": FRESHNESS_LIMIT.total_seconds() / 60,
                },
            )

        return data_freshness

    return [build(table) for table in tables_where(fresh=True)]


FRESHNESS_POLICY = dg.FreshnessPolicy.time_window(fail_window=FRESHNESS_LIMIT)


def with_freshness_policies(assets: list[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """Attach the 2-hour freshness policy (shown on the asset pages) to the hourly tables."""
    return list(
        dg.map_asset_specs(
            lambda spec: (
                spec.replace_attributes(freshness_policy=FRESHNESS_POLICY)
                if spec.key in BY_KEY and BY_KEY[spec.key].fresh
                else spec
            ),
            assets,
        )
    )
