"""The public asset jobs: `lakehouse` (the CLI's single runs) and `open_days_refresh` (the
ingest sensor's one run per refresh)."""

from __future__ import annotations

import dagster as dg

from aqi_assets.catalog import registry
from aqi_assets.catalog.table_spec import Refresh
from aqi_assets.report.asset import REPORT_KEY

# The job's name is part of the CLI's contract with a running instance (it launches it by name).
LAKEHOUSE_JOB = "lakehouse"
# The job of the hourly refresh: every table and the report, so one run ends with the report.
REFRESH_JOB = "open_days_refresh"


def lakehouse_job() -> dg.UnresolvedAssetJobDefinition:
    """Every table of the registry; its partitions are the daily partitions of the time-based ones.

    A run selects a subset of these assets (and their checks) and carries a partition or a
    partition-range tag, so one job serves a one-day refresh and a two-year single run.
    """
    return dg.define_asset_job(
        LAKEHOUSE_JOB,
        selection=dg.AssetSelection.assets(*(spec.key for spec in registry.TABLES)),
        description="Every lakehouse table; launch a subset over a day or a range of days.",
    )


def refresh_job() -> dg.UnresolvedAssetJobDefinition:
    """Every table and the report: the `ingest_open_days` sensor runs a subset over open days."""
    return dg.define_asset_job(
        REFRESH_JOB,
        selection=dg.AssetSelection.assets(*(spec.key for spec in registry.TABLES), REPORT_KEY),
        description=(
            "One hourly refresh as one run: bronze of the open days, silver, every gold table "
            "of those days (dimensions included) and, for the run ending today, the forecast "
            "and the report after them."
        ),
    )


def refresh_selection(ends_today: bool) -> list[dg.AssetKey]:
    """The assets of one refresh run over a range of days.

    Every day-partitioned table plus the reference dimensions (cheap: a city added to the
    locations file reaches dim_location before its facts are checked against it). Only the
    run ending today carries the forecast and the report: the report then follows every gold
    table of that run, and a refresh shows one report.
    """
    keys = [t.key for t in registry.TABLES if t.partitioned or t.refresh == Refresh.REFERENCE]
    return [*keys, registry.FACT_AQI_FORECAST.key, REPORT_KEY] if ends_today else keys
