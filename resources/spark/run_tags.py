"""The Dagster run tags that say which daily partitions a run covers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def run_days(tags: Mapping[str, str]) -> int | None:
    """How many daily partitions a run with `tags` covers; None for a run without day partitions."""
    try:
        if PARTITION_TAG in tags:
            date.fromisoformat(tags[PARTITION_TAG])
            return 1
        if RANGE_START_TAG in tags and RANGE_END_TAG in tags:
            first = date.fromisoformat(tags[RANGE_START_TAG])
            last = date.fromisoformat(tags[RANGE_END_TAG])
            return (last - first).days + 1
    except ValueError:
        return None
    return None
