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

from aqi_assets.catalog.registry import Check, TableSpec
from aqi_assets.quality.warning_checks import EXAMPLES, result
from aqi_assets.transforms.aqi.aqi_reference import epa_sub_index, exact
from aqi_assets.transforms.aqi.breakpoints import EPA_PM25
from aqi_assets.transforms.aqi.epa_pm25 import AqiTable
from aqi_assets.transforms.silver_rows import VALUE_RANGES

# (frame, a prefix for helper columns) -> (the frame, widened one to one, the offending count)
Counter = Callable[[DataFrame, str], tuple[DataFrame, Column]]
# (frame, a prefix for helper columns) -> (the frame, widened one to one, whether a row fails,
# why it fails or None)
RowRule = Callable[[DataFrame, str], tuple[DataFrame, Column, Column | None]]


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


def _row_check(name: Check, rule: RowRule) -> FrameCheck:
    """A check each row passes or fails on its own: its offending rows and its count both come
    from `rule`, so they cannot disagree."""

    def offending(df: DataFrame) -> DataFrame:
        widened, failing, reason = rule(df, "__check")
        rows = widened.where(failing)
        return rows if reason is None else rows.withColumn("reason", reason)

    def counter(df: DataFrame, prefix: str) -> tuple[DataFrame, Column]:
        widened, failing, _ = rule(df, prefix)
        return widened, _count_where(failing)

    return FrameCheck(name, offending, counter)


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


def unique_expanded(
    source: DataFrame, keys: Sequence[str], expanded: str, per_row: int
) -> FrameCheck:
    """Uniqueness of a frame made from `source` by turning each row into `per_row` rows with
    distinct `expanded` values (one per pollutant, say).

    Its (keys, expanded) repeat exactly where `source`'s keys do, so the rows beyond the first
    of each key are counted on `source` and multiplied: the larger frame is not shuffled.
    Examples of a failure still come from the frame itself.
    """

    def counter(df: DataFrame, prefix: str) -> tuple[DataFrame, Column]:
        counted, repeats = unique(*keys).counter(source, prefix)
        return df, F.lit(counted.agg(repeats).first()[0] * per_row)

    return FrameCheck(Check.UNIQUE, unique(*keys, expanded).offending, counter)


def not_null(*columns: str) -> FrameCheck:
    """Key columns are never null."""
    condition: Column = F.lit(False)
    for column in columns:
        condition = condition | F.col(column).isNull()
    return _row_check(Check.NO_NULL_KEYS, lambda df, _: (df, condition, None))


def value_ranges() -> FrameCheck:
    """Pollutant values are null or within their physical ranges."""

    def rule(df: DataFrame, _: str) -> tuple[DataFrame, Column, Column]:
        reasons = [
            F.when(F.isnan(c) | ~F.col(c).between(lo, hi), F.lit(f"{c} outside [{lo}, {hi}]"))
            for c, (lo, hi) in VALUE_RANGES.items()
            if c in df.columns
        ]
        reason = F.coalesce(*reasons) if reasons else F.lit(None).cast("string")
        return df, reason.isNotNull(), reason

    return _row_check(Check.VALUE_RANGES, rule)


def aqi_matches_pm25(table: AqiTable) -> FrameCheck:
    """`aqi` equals the SPEC §5 AQI of `pm25` computed by the plain-Python reference.

    Independent of silver's Spark expression: each distinct concentration (Open-Meteo reports
    0.1 µg/m³, so a few thousand) is evaluated in exact rational arithmetic on the driver and
    joined back.
    """
    breakpoints = EPA_PM25[table]

    def rule(df: DataFrame, prefix: str) -> tuple[DataFrame, Column, Column]:
        column = f"{prefix}_expected"
        distinct = df.select("pm25").where(F.col("pm25").isNotNull()).distinct().collect()
        expected = df.sparkSession.createDataFrame(
            [(r["pm25"], epa_sub_index(exact(r["pm25"]), breakpoints)) for r in distinct],
            f"pm25 double, {column} int",
        )
        joined = df.join(F.broadcast(expected), on="pm25", how="left")
        reason = F.concat(
            F.lit("aqi should be "), F.coalesce(F.col(column).cast("string"), F.lit("null"))
        )
        return joined, ~F.col("aqi").eqNullSafe(F.col(column)), reason

    return _row_check(Check.AQI_MATCHES, rule)


def in_dimension(
    name: Check, column: str, dimension: DataFrame, dim_column: str | None = None
) -> FrameCheck:
    """Every `column` value of the frame exists in `dimension`."""
    keys = dimension.select(F.col(dim_column or column).alias(column)).distinct()

    def rule(df: DataFrame, prefix: str) -> tuple[DataFrame, Column, None]:
        found = f"{prefix}_found"
        marked = keys.select(column, F.lit(True).alias(found))
        return df.join(F.broadcast(marked), on=column, how="left"), F.col(found).isNull(), None

    return _row_check(name, rule)


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
