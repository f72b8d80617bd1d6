"""Run assets in-process for a range of daily partitions, as a single-run backfill would."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import dagster as dg

from aqi_assets.catalog.registry import BRONZE_RAW, PARTITIONED_ASSETS, REFERENCE_ASSETS
from resources.spark.run_tags import RANGE_END_TAG, RANGE_START_TAG


def materialize_range(
    assets: Sequence[dg.AssetsDefinition],
    first: date,
    last: date,
    resources: dict[str, object],
    selection: str | Sequence[str] | None = None,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    """Materialize `selection` (default: every partitioned asset) for days first..last inclusive."""
    if selection is None:
        selection = list(PARTITIONED_ASSETS)
    elif isinstance(selection, str):
        selection = [selection]
    return dg.materialize(
        assets,
        selection=selection,
        resources=resources,
        tags={RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()},
        raise_on_error=raise_on_error,
    )


def materialize_reference(
    assets: Sequence[dg.AssetsDefinition], resources: dict[str, object]
) -> dg.ExecuteInProcessResult:
    """Materialize the unpartitioned reference dimensions."""
    return dg.materialize(assets, selection=list(REFERENCE_ASSETS), resources=resources)


def land_late_reading(spark_resource, location_key: str, time: str, pm25: float) -> None:
    """Rewrite one bronze hour in place as a later ingest of `pm25` (late data arriving)."""
    bronze = spark_resource.table(*BRONZE_RAW.table)
    spark_resource.spark_session.sql(
        f"UPDATE {bronze} SET pm2_5 = {pm25}, ingested_at = current_timestamp() "
        f"WHERE location_key = '{location_key}' AND time = '{time}'"
    )
