"""The one daily partitioning of every time-based asset, and its backfill policy."""

from __future__ import annotations

from datetime import date

import dagster as dg


def daily_partitions(start: date) -> dg.DailyPartitionsDefinition:
    """UTC days from `start` through today (end_offset=1), so the hourly refresh has a partition."""
    return dg.DailyPartitionsDefinition(
        start_date=start.isoformat(), timezone="UTC", end_offset=1, fmt="%Y-%m-%d"
    )


# One run processes its whole range per asset with one Spark job (docs/performance.md says why).
BACKFILL_POLICY = dg.BackfillPolicy.single_run()
