"""Data quality checks, evaluated over exactly the partitions a run writes.

Blocking checks run on the frame a run is about to commit: when one fails its result (with
offending keys) is reported, the commit is skipped so the table keeps its previous snapshot,
the step fails, and nothing downstream runs or is automated. Warning checks run after the
commit and annotate it. The checks each table carries are declared in `aqi_assets.registry`.
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

from aqi_assets.registry import Check, TableSpec
from aqi_assets.transforms.aqi import AqiTable
from aqi_assets.transforms.aqi_reference import epa_sub_index, exact
from aqi_assets.transforms.breakpoints import EPA_PM25
from aqi_assets.transforms.open_meteo_aqi import agreement
from aqi_assets.transforms.silver import VALUE_RANGES
from resources.iceberg_writes import WriteResult

EXAMPLES = 5
ROW_DROP_TOLERANCE = 0.10
# Their mean is taken on unrounded model values, ours on the 0.1 µg/m³ the API returns: a
# fraction of an index point apart, so nearly every hour should agree.
OPEN_METEO_MIN_AGREEMENT = 0.95


@dataclass(frozen=True)
class FrameCheck:
    """A blocking check run on the frame to commit: `offending` returns the rows that fail it."""

    name: Check
    offending: Callable[[DataFrame], DataFrame]


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _examples(offending: DataFrame, keys: Sequence[str]) -> dg.MetadataValue:
    shown = [c for c in offending.columns if c in keys or c in ("reason", "duplicates")]
    rows = offending.select(*shown).limit(EXAMPLES).collect()
    return dg.MetadataValue.json([{c: _jsonable(v) for c, v in r.asDict().items()} for r in rows])


def evaluate_frame_checks(
    table: TableSpec, frame_checks: Sequence[FrameCheck], frame: DataFrame, keys: Sequence[str]
) -> list[dg.AssetCheckResult]:
    """Run `frame_checks` on `frame`, counting every check's offending rows in one Spark job.

    A failed check's metadata holds its count and a few offending keys (read only on failure).
    """
    if not frame_checks:
        return []
    offending = [check.offending(frame) for check in frame_checks]
    tagged = [rows.select(F.lit(i).alias("check")) for i, rows in enumerate(offending)]
    counted = functools.reduce(DataFrame.union, tagged).groupBy("check").count().collect()
    counts = {row["check"]: row["count"] for row in counted}
    results = []
    for i, check in enumerate(frame_checks):
        count = counts.get(i, 0)
        metadata: dict[str, Any] = {"offending_rows": count}
        if count:
            metadata["examples"] = _examples(offending[i], keys)
        results.append(result(table, check.name, count == 0, metadata))
    return results


def result(
    table: TableSpec, name: Check, passed: bool, metadata: dict[str, Any]
) -> dg.AssetCheckResult:
    """An AssetCheckResult with the severity the check is declared with on `table`."""
    decl = table.declared(name)
    severity = dg.AssetCheckSeverity.ERROR if decl.blocking else dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(
        asset_key=table.key,
        check_name=name.value,
        passed=passed,
        severity=severity,
        metadata=metadata,
    )


def unique(*keys: str) -> FrameCheck:
    """Each key combination appears once."""
    return FrameCheck(
        Check.UNIQUE,
        lambda df: df.groupBy(*keys).agg(F.count("*").alias("duplicates")).where("duplicates > 1"),
    )


def not_null(*columns: str) -> FrameCheck:
    """Key columns are never null."""
    condition: Column = F.lit(False)
    for column in columns:
        condition = condition | F.col(column).isNull()
    return FrameCheck(Check.NO_NULL_KEYS, lambda df: df.where(condition))


def value_ranges() -> FrameCheck:
    """Pollutant values are null or within their physical ranges."""

    def offending(df: DataFrame) -> DataFrame:
        reasons = [
            F.when(F.isnan(c) | ~F.col(c).between(lo, hi), F.lit(f"{c} outside [{lo}, {hi}]"))
            for c, (lo, hi) in VALUE_RANGES.items()
            if c in df.columns
        ]
        return df.withColumn("reason", F.coalesce(*reasons)).where(F.col("reason").isNotNull())

    return FrameCheck(Check.VALUE_RANGES, offending)


def aqi_matches_pm25(table: AqiTable) -> FrameCheck:
    """`aqi` equals the SPEC §5 AQI of `pm25` computed by the plain-Python reference.

    Independent of silver's Spark expression: each distinct concentration (Open-Meteo reports
    0.1 µg/m³, so a few thousand) is evaluated in exact rational arithmetic on the driver and
    joined back.
    """
    breakpoints = EPA_PM25[table]

    def offending(df: DataFrame) -> DataFrame:
        distinct = df.select("pm25").where(F.col("pm25").isNotNull()).distinct().collect()
        expected = df.sparkSession.createDataFrame(
            [(r["pm25"], epa_sub_index(exact(r["pm25"]), breakpoints)) for r in distinct],
            "pm25 double, expected_aqi int",
        )
        joined = df.join(F.broadcast(expected), on="pm25", how="left")
        return joined.where(~F.col("aqi").eqNullSafe(F.col("expected_aqi"))).withColumn(
            "reason",
            F.concat(
                F.lit("aqi should be "),
                F.coalesce(F.col("expected_aqi").cast("string"), F.lit("null")),
            ),
        )

    return FrameCheck(Check.AQI_MATCHES, offending)


def open_meteo_agreement(
    table: TableSpec, written: DataFrame, recomputed: str
) -> dg.AssetCheckResult:
    """Warn when Open-Meteo's `us_aqi_pm2_5` and its recomputation (`recomputed`) disagree.

    `agreement_share` (share of comparable hours within 1 AQI point) is a float the UI plots
    across runs.
    """
    found = agreement(written, recomputed)
    return result(
        table,
        Check.OPEN_METEO_AGREEMENT,
        found.share >= OPEN_METEO_MIN_AGREEMENT,
        {
            "agreement_share": dg.MetadataValue.float(round(found.share, 4)),
            "compared_hours": found.compared_hours,
            "agreeing_hours": found.agreeing_hours,
            "threshold": OPEN_METEO_MIN_AGREEMENT,
        },
    )


def in_dimension(
    name: Check, column: str, dimension: DataFrame, dim_column: str | None = None
) -> FrameCheck:
    """Every `column` value of the frame exists in `dimension`."""
    keys = dimension.select(F.col(dim_column or column).alias(column)).distinct()
    return FrameCheck(name, lambda df: df.join(keys, on=column, how="left_anti"))


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


def row_count_drop(table: TableSpec, write: WriteResult) -> dg.AssetCheckResult:
    """Warn when a re-materialization wrote clearly fewer rows than it replaced."""
    dropped = write.deleted_records > 0 and write.added_records < write.deleted_records * (
        1 - ROW_DROP_TOLERANCE
    )
    return result(
        table,
        Check.ROW_COUNT_DROP,
        not dropped,
        {"rows_replaced": write.deleted_records, "rows_written": write.added_records},
    )


def reject_ratio(
    table: TableSpec, rows_in: int, rejected: int, threshold: float
) -> dg.AssetCheckResult:
    """Warn when more than `threshold` of the input rows were rejected."""
    ratio = rejected / rows_in if rows_in else 0.0
    return result(
        table,
        Check.REJECT_RATIO,
        ratio <= threshold,
        {"reject_ratio": round(ratio, 4), "threshold": threshold},
    )


def completeness(
    table: TableSpec,
    written: DataFrame,
    locations: Sequence[str],
    start: date,
    end: date,
    today: date,
) -> dg.AssetCheckResult:
    """Warn about closed days (before today) that lack hours for some location; names them."""
    spark = written.sparkSession
    closed_end = min(end, today)
    if closed_end <= start:
        return result(table, Check.COMPLETENESS, True, {"closed_days": 0})
    expected = spark.createDataFrame(
        [(loc,) for loc in locations], "location_key string"
    ).crossJoin(
        spark.sql(f"SELECT explode(sequence(DATE'{start}', DATE'{closed_end}' - 1)) AS day")
    )
    present = written.groupBy("location_key", F.to_date("ts_utc").alias("day")).agg(
        F.count("*").alias("hours")
    )
    short = (
        expected.join(present, ["location_key", "day"], "left")
        .withColumn("hours", F.coalesce("hours", F.lit(0)))
        .where("hours < 24")
        .orderBy("day", "location_key")
    )
    rows = short.collect()
    metadata: dict[str, Any] = {
        "closed_days": (closed_end - start).days,
        "incomplete_location_days": len(rows),
        "missing_hours": sum(24 - r["hours"] for r in rows),
    }
    if rows:
        metadata["examples"] = dg.MetadataValue.json(
            [
                {
                    "location_key": r["location_key"],
                    "day": r["day"].isoformat(),
                    "hours": r["hours"],
                }
                for r in rows[:EXAMPLES]
            ]
        )
    return result(table, Check.COMPLETENESS, not rows, metadata)


def completeness_score(check: dg.AssetCheckResult, locations: int) -> float:
    """Share of expected closed-day hours present, from a completeness result (1.0 when none)."""
    closed = check.metadata["closed_days"].value
    if not closed:
        return 1.0
    missing = check.metadata.get("missing_hours")
    return 1.0 - (missing.value if missing else 0) / (closed * 24 * locations)
