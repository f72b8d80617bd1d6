"""The public asset job that `aqi backfill --single-run` and one-partition runs launch."""

from __future__ import annotations

import dagster as dg

from aqi_assets.catalog import registry

# The job's name is part of the CLI's contract with a running instance (it launches it by name).
LAKEHOUSE_JOB = "lakehouse"


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
