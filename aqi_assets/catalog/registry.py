"""The table registry: every table of the lakehouse, described once.

Each `TableSpec` holds the facts other modules would otherwise repeat: asset key, Iceberg
identifier, layer, pool, window column (partitioned or not), unique key, how the automation
refreshes it, freshness, maintenance and the checks it carries. Assets, automation, freshness,
maintenance, checks, the CLI, the bench and the tests read them from here. The types they are
written in live in `aqi_assets.catalog.table_spec`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dagster as dg

from aqi_assets.catalog.table_spec import Check, CheckDecl, Layer, Refresh, TableSpec
from aqi_assets.orchestration.partitions import BACKFILL_POLICY


def _unique(keys: tuple[str, ...]) -> CheckDecl:
    return CheckDecl(
        Check.UNIQUE, f"({', '.join(keys)}) is unique in the partitions written", columns=keys
    )


def _not_null(*columns: str) -> CheckDecl:
    return CheckDecl(Check.NO_NULL_KEYS, f"{', '.join(columns)} are never null", columns=columns)


_LOCATION_FK = CheckDecl(Check.LOCATION_FK, "every location_key exists in dim_location")
_DATE_FK = CheckDecl(Check.DATE_FK, "every date_key exists in dim_date")
_TIME_FK = CheckDecl(Check.TIME_FK, "every time_key exists in dim_time")
_ROW_DROP = CheckDecl(
    Check.ROW_COUNT_DROP, "rows written are not >10% fewer than the rows replaced", blocking=False
)
HOUR_KEYS = ("location_key", "ts_utc")

BRONZE_RAW = TableSpec(
    asset="bronze_raw",
    layer=Layer.BRONZE,
    iceberg_name="bronze_raw",
    keys=HOUR_KEYS,
    pool="iceberg_bronze",
    window_column="event_date",
    refresh=Refresh.INGEST,
    maintained=True,
)
SILVER_HOURLY = TableSpec(
    asset="silver_hourly",
    layer=Layer.SILVER,
    iceberg_name="silver_hourly",
    keys=HOUR_KEYS,
    pool="iceberg_silver",
    window_column="ts_utc",
    fresh=True,
    maintained=True,
    checks=(
        _unique(HOUR_KEYS),
        _not_null("location_key", "ts_utc", "date_key", "time_key"),
        CheckDecl(Check.VALUE_RANGES, "pollutant values are null or within their physical ranges"),
        CheckDecl(Check.AQI_MATCHES, "aqi equals the US EPA PM2.5 formula applied to pm25"),
        CheckDecl(Check.COMPLETENESS, "each closed day has 24 hours per location", blocking=False),
        CheckDecl(
            Check.REJECT_RATIO,
            "rejected share of input rows stays under the threshold",
            blocking=False,
        ),
        _ROW_DROP,
        CheckDecl(
            Check.OPEN_METEO_AGREEMENT,
            "Open-Meteo's us_aqi_pm2_5 agrees within 1 point with its method recomputed here",
            blocking=False,
        ),
    ),
)
# Written by the same step as silver_hourly, so it shares its pool.
SILVER_REJECTS = TableSpec(
    asset="silver_rejects",
    layer=Layer.SILVER,
    iceberg_name="silver_rejects",
    keys=(),
    pool=SILVER_HOURLY.pool,
    window_column="event_date",
    maintained=True,
)
DIM_LOCATION = TableSpec(
    asset="dim_location",
    layer=Layer.GOLD,
    iceberg_name="dim_location",
    keys=("location_key",),
    pool="iceberg_dim_location",
    refresh=Refresh.REFERENCE,
    # Rebuilt by every hourly refresh: one snapshot an hour unless maintenance expires them.
    maintained=True,
)
DIM_POLLUTANT = TableSpec(
    asset="dim_pollutant",
    layer=Layer.GOLD,
    iceberg_name="dim_pollutant",
    keys=("pollutant_key",),
    pool="iceberg_dim_pollutant",
    refresh=Refresh.REFERENCE,
    # Rebuilt by every hourly refresh: one snapshot an hour unless maintenance expires them.
    maintained=True,
)
DIM_TIME = TableSpec(
    asset="dim_time",
    layer=Layer.GOLD,
    iceberg_name="dim_time",
    keys=("time_key",),
    pool="iceberg_dim_time",
    refresh=Refresh.REFERENCE,
    # Rebuilt by every hourly refresh: one snapshot an hour unless maintenance expires them.
    maintained=True,
)
DIM_DATE = TableSpec(
    asset="dim_date",
    layer=Layer.GOLD,
    iceberg_name="dim_date",
    keys=("date_key",),
    pool="iceberg_dim_date",
    window_column="date_utc",
    refresh=Refresh.CALENDAR,
    maintained=True,
)
FACT_HOURLY = TableSpec(
    asset="fact_hourly",
    layer=Layer.GOLD,
    iceberg_name="fact_air_quality_hourly",
    keys=HOUR_KEYS,
    pool="iceberg_fact_hourly",
    window_column="ts_utc",
    fresh=True,
    maintained=True,
    checks=(
        _unique(HOUR_KEYS),
        _not_null("location_key", "date_key", "time_key", "ts_utc"),
        _LOCATION_FK,
        _DATE_FK,
        _TIME_FK,
        _ROW_DROP,
    ),
)
FACT_CITY_DAILY = TableSpec(
    asset="fact_city_daily",
    layer=Layer.GOLD,
    iceberg_name="fact_city_daily",
    keys=("location_key", "date_key"),
    pool="iceberg_fact_city_daily",
    window_column="date_utc",
    maintained=True,
    checks=(
        _unique(("location_key", "date_key")),
        _not_null("location_key", "date_key"),
        _LOCATION_FK,
        _DATE_FK,
        CheckDecl(
            Check.TOTAL_HOURS, "total_hours equals the silver hours of that location and day"
        ),
    ),
)
FACT_EPISODE = TableSpec(
    asset="fact_episode",
    layer=Layer.GOLD,
    iceberg_name="fact_episode",
    keys=("episode_id",),
    pool="iceberg_fact_episode",
    window_column="start_date",
    maintained=True,
    checks=(
        _unique(("episode_id",)),
        _not_null("episode_id", "location_key", "start_ts", "end_ts"),
        _LOCATION_FK,
    ),
)
FACT_POLLUTANT_HOURLY = TableSpec(
    asset="fact_pollutant_hourly",
    layer=Layer.GOLD,
    iceberg_name="fact_pollutant_hourly",
    keys=("location_key", "ts_utc", "pollutant_key"),
    # Written by the same step as fact_hourly, so it shares its pool.
    pool=FACT_HOURLY.pool,
    window_column="ts_utc",
    maintained=True,
    checks=(
        _unique(("location_key", "ts_utc", "pollutant_key")),
        _not_null("location_key", "ts_utc", "pollutant_key"),
        _LOCATION_FK,
        CheckDecl(Check.POLLUTANT_FK, "every pollutant_key exists in dim_pollutant"),
        _ROW_DROP,
    ),
)
# Partitioned by the local calendar day (each location's IANA zone), not the UTC one.
FACT_CITY_DAILY_LOCAL = TableSpec(
    asset="fact_city_daily_local",
    layer=Layer.GOLD,
    iceberg_name="fact_city_daily_local",
    keys=("location_key", "date_local"),
    pool="iceberg_fact_city_daily_local",
    window_column="date_local",
    maintained=True,
    checks=(
        _unique(("location_key", "date_local")),
        _not_null("location_key", "date_local"),
        _LOCATION_FK,
    ),
)

# Not partitioned: the forecast hours never enter the partitioned tables.
FACT_AQI_FORECAST = TableSpec(
    asset="fact_aqi_forecast",
    layer=Layer.GOLD,
    iceberg_name="fact_aqi_forecast",
    keys=HOUR_KEYS,
    pool="iceberg_fact_aqi_forecast",
    refresh=Refresh.FORECAST,
    maintained=True,
)

TABLES: tuple[TableSpec, ...] = (
    BRONZE_RAW,
    SILVER_HOURLY,
    SILVER_REJECTS,
    DIM_LOCATION,
    DIM_POLLUTANT,
    DIM_TIME,
    DIM_DATE,
    FACT_HOURLY,
    FACT_CITY_DAILY,
    FACT_EPISODE,
    FACT_AQI_FORECAST,
    FACT_POLLUTANT_HOURLY,
    FACT_CITY_DAILY_LOCAL,
)
BY_ASSET: dict[str, TableSpec] = {t.asset: t for t in TABLES}
BY_KEY: dict[dg.AssetKey, TableSpec] = {t.key: t for t in TABLES}


def tables_where(**facts: Any) -> Iterator[TableSpec]:
    """The tables whose attributes equal `facts`, in registry order (e.g. `refresh=Refresh.REFERENCE`)."""
    return (t for t in TABLES if all(getattr(t, k) == v for k, v in facts.items()))


PARTITIONED_ASSETS: tuple[str, ...] = tuple(t.asset for t in tables_where(partitioned=True))
REFERENCE_ASSETS: tuple[str, ...] = tuple(t.asset for t in tables_where(refresh=Refresh.REFERENCE))


def asset_args(spec: TableSpec, partitions_def: dg.PartitionsDefinition | None = None) -> dict:
    """The `@dg.asset` arguments every table shares: name, group, pool, table, partitions, checks."""
    args: dict[str, Any] = {
        "name": spec.asset,
        "group_name": spec.layer.value,
        "kinds": {"spark", "iceberg"},
        "pool": spec.pool,
        "metadata": {"iceberg_table": str(spec.table)},
        "check_specs": spec.check_specs(),
    }
    if spec.partitioned:
        if partitions_def is None:
            raise ValueError(f"{spec.asset} is partitioned: pass the daily partitions definition")
        args["partitions_def"] = partitions_def
        args["backfill_policy"] = BACKFILL_POLICY
    return args


def asset_spec(spec: TableSpec, deps: list[dg.AssetKey], description: str) -> dg.AssetSpec:
    """One table of a multi-asset step (several tables computed together): key, group, table."""
    return dg.AssetSpec(
        spec.key,
        deps=deps,
        description=description,
        group_name=spec.layer.value,
        kinds={"spark", "iceberg"},
        metadata={"iceberg_table": str(spec.table)},
    )


def multi_asset_args(
    tables: list[TableSpec], partitions_def: dg.PartitionsDefinition, can_subset: bool
) -> dict:
    """The `@dg.multi_asset` arguments of a step writing `tables` (the first one's pool)."""
    return {
        "check_specs": [spec for table in tables for spec in table.check_specs()],
        "partitions_def": partitions_def,
        "backfill_policy": BACKFILL_POLICY,
        "pool": tables[0].pool,
        "can_subset": can_subset,
    }
