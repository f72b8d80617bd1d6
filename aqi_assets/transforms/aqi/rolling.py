"""Trailing means over each location's hours (8-h, 24-h), gaps kept as gaps, EPA's 75 % rule.

Range frames on epoch seconds: a missing hour shortens the mean's count, never pulls in an
older hour. A mean needs at least 75 % of its hours (6 of 8, 18 of 24: EPA's completeness rule
for averages, SPEC §9; Decision 1459/QĐ-TCMT states none, so VN_AQI uses the same).
"""

from __future__ import annotations

import math

from pyspark.sql import Column
from pyspark.sql import functions as F

from aqi_assets.transforms.aqi.nowcast import HOUR_SECONDS, hour_window

COMPLETENESS = 0.75


def min_hours(hours: int) -> int:
    """Hours a `hours`-hour mean needs (75 %, rounded up)."""
    return math.ceil(hours * COMPLETENESS)


def trailing_mean(
    value: str,
    hours: int,
    required: int | None = None,
    key: str = "location_key",
    ts: str = "ts_utc",
) -> Column:
    """Mean of `value` over the `hours` hours ending at each row (the row's hour included).

    For a frame inside `nowcast.over_hours`.

    Null when fewer than `required` (default: 75 %) of them have a value.
    """
    frame = hour_window(key, ts).rangeBetween(-(hours - 1) * HOUR_SECONDS, 0)
    needed = min_hours(hours) if required is None else required
    return F.when(F.count(value).over(frame) >= needed, F.avg(value).over(frame))


def previous_hours_mean(
    value: str, hours: int, key: str = "location_key", ts: str = "ts_utc"
) -> Column:
    """Mean of `value` over the `hours` hours strictly before each row; null if any is missing.

    For a frame inside `nowcast.over_hours`.
    """
    frame = hour_window(key, ts).rangeBetween(-hours * HOUR_SECONDS, -HOUR_SECONDS)
    return F.when(F.count(value).over(frame) == hours, F.avg(value).over(frame))
