"""EPA PM NowCast (SPEC §9) as a Spark window over each location's hours, gaps kept as gaps.

The window is a range of 11 hours before each row up to the row, on the epoch seconds of
`ts_utc`, so a missing hour is absent from it (never replaced by an older one); each present
hour's weight exponent is its distance in hours from the row. Set-based: one window pass and
higher-order array functions, no Python per row.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from aqi_assets.transforms.aqi.breakpoints import EPA_PM10, EpaTable
from aqi_assets.transforms.aqi.sub_index import epa_sub_index, epa_truncated

HOURS = 12
HOUR_SECONDS = 3600
# A range run must read this many hours before its first hour for its NowCast to be complete.
LOOKBACK_HOURS = HOURS - 1
# The untruncated NowCasts of PM2.5 and PM10: silver stores them for VN_AQI's hourly sub-indices.
RAW_COLUMNS = ("nowcast_pm25_raw", "nowcast_pm10_raw")


def epoch_column(ts: str = "ts_utc") -> str:
    """The column holding `ts` in epoch seconds, which every window over hours orders by."""
    return f"__{ts}_epoch_s"


def over_hours(
    df: DataFrame, build: Callable[[DataFrame], DataFrame], ts: str = "ts_utc"
) -> DataFrame:
    """`build(df)`, whose windows come from `hour_window`, given the column they order by.

    Windows ordered by one column share one sort of the rows; ordered by an expression (the
    cast per window), Spark sorts the rows again for each window. A frame that has the column
    keeps it; otherwise it is added for `build` and dropped after.
    """
    column = epoch_column(ts)
    if column in df.columns:
        return build(df)
    return build(df.withColumn(column, F.col(ts).cast("long"))).drop(column)


def hour_window(key: str = "location_key", ts: str = "ts_utc") -> Window:
    """Rows of one location ordered by their instant in seconds (frames are set by callers).

    The frame must hold `epoch_column(ts)`: build it inside `over_hours`.
    """
    return Window.partitionBy(key).orderBy(F.col(epoch_column(ts)))


def with_nowcast(
    df: DataFrame, value: str, out: str, key: str = "location_key", ts: str = "ts_utc"
) -> DataFrame:
    """Add `out`: the untruncated NowCast of `value` (null unless 2 of the 3 latest hours exist).

    Needs `epoch_column(ts)` (see `over_hours`).

    The frame's readings come in time order, so "2 of the 3 latest" is the second-latest one
    being at most 2 hours old; both weighted sums are folded in one pass over the readings
    (higher-order functions run interpreted: one pass instead of four).
    """
    now = F.col(epoch_column(ts))
    frame = hour_window(key, ts).rangeBetween(-LOOKBACK_HOURS * HOUR_SECONDS, 0)
    reading = F.col(value)
    present = F.when(
        reading.isNotNull() & ~F.isnan(reading), F.struct(now.alias("s"), reading.alias("v"))
    )
    hist, weight, sums = f"__{out}_hist", f"__{out}_w", f"__{out}_sums"
    values = F.col(hist)["v"]
    high, low = F.array_max(values), F.array_min(values)

    def add(acc: Column, x: Column) -> Column:
        power = F.pow(F.col(weight), (now - x["s"]) / HOUR_SECONDS)
        return F.struct(
            (acc["numerator"] + power * x["v"]).alias("numerator"),
            (acc["denominator"] + power).alias("denominator"),
        )

    start = F.struct(F.lit(0.0).alias("numerator"), F.lit(0.0).alias("denominator"))
    recent = (F.size(hist) >= 2) & (F.element_at(hist, -2)["s"] >= now - 2 * HOUR_SECONDS)
    return (
        df.withColumn(hist, F.collect_list(present).over(frame))
        .withColumn(weight, F.when(high > 0, F.greatest(low / high, F.lit(0.5))).otherwise(1.0))
        .withColumn(sums, F.when(recent, F.aggregate(F.col(hist), start, add)))
        .withColumn(out, F.col(sums)["numerator"] / F.col(sums)["denominator"])
        .drop(hist, weight, sums)
    )


def nowcast_columns(raw: Column, table: EpaTable) -> tuple[Column, Column]:
    """(NowCast truncated to the table's step, its AQI on `table`) from the untruncated value."""
    return epa_truncated(raw, table, computed=True), epa_sub_index(raw, table, computed=True)


def with_epa_nowcasts(df: DataFrame, pm25_table: EpaTable, keep_raw: bool = False) -> DataFrame:
    """Add nowcast_pm25, nowcast_aqi, nowcast_pm10, nowcast_pm10_aqi (SPEC §9, EPA tables).

    With `keep_raw` the untruncated `nowcast_pm25_raw` / `nowcast_pm10_raw` stay (VN_AQI's
    hourly PM sub-indices use them).
    """
    pm25_raw, pm10_raw = RAW_COLUMNS
    raw = over_hours(
        df, lambda d: with_nowcast(with_nowcast(d, "pm25", pm25_raw), "pm10", pm10_raw)
    )
    pm25, pm25_aqi = nowcast_columns(F.col(pm25_raw), pm25_table)
    pm10, pm10_aqi = nowcast_columns(F.col(pm10_raw), EPA_PM10)
    out = raw.select(
        "*",
        pm25.alias("nowcast_pm25"),
        pm25_aqi.alias("nowcast_aqi"),
        pm10.alias("nowcast_pm10"),
        pm10_aqi.alias("nowcast_pm10_aqi"),
    )
    return out if keep_raw else out.drop(*RAW_COLUMNS)
