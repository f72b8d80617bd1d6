"""Blocking checks on the frame a run is about to commit, counted together in one pass.

Each check can count its offending rows as one aggregate over the frame (left joins to small,
distinct right sides keep the frame's rows one to one), so a table's checks cost one scan of
the cached frame and one Spark job; a check that cannot (it changes the rows it looks at) is
counted beside them. Offending rows are read only for a check that failed, to show examples.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import dagster as dg
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from aqi_assets.checks import EXAMPLES, result
from aqi_assets.registry import Check, TableSpec
from aqi_assets.transforms.aqi import AqiTable
from aqi_assets.transforms.aqi_reference import epa_sub_index, exact
from aqi_assets.transforms.breakpoints import EPA_PM25
from aqi_assets.transforms.silver import VALUE_RANGES

# (frame, a prefix for helper columns) -> (the frame, widened one to one, the offending count)
Counter = Callable[[DataFrame, str], tuple[DataFrame, Column]]


@dataclass(frozen=True)
class FrameCheck:
    """A blocking check: `offending` returns the rows that fail it (shown as examples);
    `counter`, when set, counts them as an aggregate in the shared pass."""

    name: Check
    offending: Callable[[DataFrame], DataFrame]
    counter: Counter | None = None


def _count_where(condition: Column) -> Column:
    """Rows where `condition` holds (0 on an empty frame)."""
    return F.count(F.when(condition, True))


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _examples(offending: DataFrame, keys: Sequence[str]) -> dg.MetadataValue:
    shown = [c for c in offending.columns if c in keys or c in ("reason", "duplicates")]
    rows = offending.select(*shown).limit(EXAMPLES).collect()
    return dg.MetadataValue.json([{c: _jsonable(v) for c, v in r.asDict().items()} for r in rows])


def _counts(frame_checks: Sequence[FrameCheck], frame: DataFrame) -> dict[int, int]:
    """Each check's offending count: the counters in one aggregate, the others in one union."""
    counts: dict[int, int] = {}
    widened, aggregates = frame, []
    for i, check in enumerate(frame_checks):
        if check.counter:
            widened, count = check.counter(widened, f"__check{i}")
            aggregates.append(count.alias(f"check{i}"))
    if aggregates:
        row = widened.agg(*aggregates).first()
        counts.update({int(k[5:]): v for k, v in row.asDict().items()})
    rest = [(i, c) for i, c in enumerate(frame_checks) if not c.counter]
    if rest:
        tagged = [c.offending(frame).select(F.lit(i).alias("check")) for i, c in rest]
        counted = functools.reduce(DataFrame.union, tagged).groupBy("check").count().collect()
        counts.update({r["check"]: r["count"] for r in counted})
    return counts


def evaluate_frame_checks(
    table: TableSpec, frame_checks: Sequence[FrameCheck], frame: DataFrame, keys: Sequence[str]
) -> list[dg.AssetCheckResult]:
    """Run `frame_checks` on `frame`; a failed check's metadata holds its count and a few
    offending rows' `keys`."""
    if not frame_checks:
        return []
    counts = _counts(frame_checks, frame)
    results = []
    for i, check in enumerate(frame_checks):
        count = counts.get(i, 0)
        metadata: dict[str, Any] = {"offending_rows": count}
        if count:
            metadata["examples"] = _examples(check.offending(frame), keys)
        results.append(result(table, check.name, count == 0, metadata))
    return results


def unique(*keys: str) -> FrameCheck:
    """Each key combination appears once; counts the rows beyond the first of each key."""
    return FrameCheck(
        Check.UNIQUE,
        lambda df: df.groupBy(*keys).agg(F.count("*").alias("duplicates")).where("duplicates > 1"),
        lambda df, _: (df, F.count(F.lit(1)) - F.count_distinct(F.struct(*keys))),
    )


def not_null(*columns: str) -> FrameCheck:
    """Key columns are never null."""
    condition: Column = F.lit(False)
    for column in columns:
        condition = condition | F.col(column).isNull()
    return FrameCheck(
        Check.NO_NULL_KEYS,
        lambda df: df.where(condition),
        lambda df, _: (df, _count_where(condition)),
    )


def _range_reason(df: DataFrame) -> Column:
    reasons = [
        F.when(F.isnan(c) | ~F.col(c).between(lo, hi), F.lit(f"{c} outside [{lo}, {hi}]"))
        for c, (lo, hi) in VALUE_RANGES.items()
        if c in df.columns
    ]
    return F.coalesce(*reasons) if reasons else F.lit(None).cast("string")


def value_ranges() -> FrameCheck:
    """Pollutant values are null or within their physical ranges."""
    return FrameCheck(
        Check.VALUE_RANGES,
        lambda df: df.withColumn("reason", _range_reason(df)).where(F.col("reason").isNotNull()),
        lambda df, _: (df, _count_where(_range_reason(df).isNotNull())),
    )


def aqi_matches_pm25(table: AqiTable) -> FrameCheck:
    """`aqi` equals the SPEC §5 AQI of `pm25` computed by the plain-Python reference.

    Independent of silver's Spark expression: each distinct concentration (Open-Meteo reports
    0.1 µg/m³, so a few thousand) is evaluated in exact rational arithmetic on the driver and
    joined back.
    """
    breakpoints = EPA_PM25[table]

    def expected(df: DataFrame, column: str) -> DataFrame:
        distinct = df.select("pm25").where(F.col("pm25").isNotNull()).distinct().collect()
        return df.sparkSession.createDataFrame(
            [(r["pm25"], epa_sub_index(exact(r["pm25"]), breakpoints)) for r in distinct],
            f"pm25 double, {column} int",
        )

    def offending(df: DataFrame) -> DataFrame:
        joined = df.join(F.broadcast(expected(df, "expected_aqi")), on="pm25", how="left")
        return joined.where(~F.col("aqi").eqNullSafe(F.col("expected_aqi"))).withColumn(
            "reason",
            F.concat(
                F.lit("aqi should be "),
                F.coalesce(F.col("expected_aqi").cast("string"), F.lit("null")),
            ),
        )

    def counter(df: DataFrame, prefix: str) -> tuple[DataFrame, Column]:
        column = f"{prefix}_expected"
        joined = df.join(F.broadcast(expected(df, column)), on="pm25", how="left")
        return joined, _count_where(~F.col("aqi").eqNullSafe(F.col(column)))

    return FrameCheck(Check.AQI_MATCHES, offending, counter)


def in_dimension(
    name: Check, column: str, dimension: DataFrame, dim_column: str | None = None
) -> FrameCheck:
    """Every `column` value of the frame exists in `dimension`."""
    keys = dimension.select(F.col(dim_column or column).alias(column)).distinct()

    def counter(df: DataFrame, prefix: str) -> tuple[DataFrame, Column]:
        found = f"{prefix}_found"
        marked = keys.select(column, F.lit(True).alias(found))
        return df.join(F.broadcast(marked), on=column, how="left"), _count_where(
            F.col(found).isNull()
        )

    return FrameCheck(name, lambda df: df.join(keys, on=column, how="left_anti"), counter)


def total_hours_match(silver_window: DataFrame) -> FrameCheck:
    """`total_hours` of each city-day equals the hours silver holds for it."""
    hours = silver_window.groupBy("location_key", "date_key").agg(
        F.count("*").alias("silver_hours")
    )

    def offending(df: DataFrame) -> DataFrame:
        joined = df.join(hours, ["location_key", "date_key"], "full_outer")
        return joined.where(~F.col("total_hours").eqNullSafe(F.col("silver_hours"))).withColumn(
            "reason",
            F.concat_ws(
                " ",
                F.lit("total_hours"),
                F.col("total_hours").cast("string"),
                F.lit("!= silver"),
                F.col("silver_hours").cast("string"),
            ),
        )

    return FrameCheck(Check.TOTAL_HOURS, offending)
