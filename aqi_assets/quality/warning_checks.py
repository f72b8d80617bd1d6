"""Data quality checks, evaluated over exactly the partitions a run writes.

Blocking checks (`aqi_assets.quality.blocking_checks`) run on the frame a run is about to commit: when one
fails its result (with offending keys) is reported, the commit is skipped so the table keeps
its previous snapshot, the step fails, and nothing downstream runs or is automated. Warning
checks (here) run after the commit and annotate it. The checks each table carries are declared
in `aqi_assets.catalog.registry`; `result` gives every check result its declared severity.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import dagster as dg
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from aqi_assets.catalog.registry import Check, TableSpec
from aqi_assets.transforms.aqi.open_meteo_aqi import agreement
from resources.iceberg.window_writes import WriteResult

# Offending keys a failed check shows (blocking checks and the completeness warning).
EXAMPLES = 5
ROW_DROP_TOLERANCE = 0.10
# Their mean is taken on unrounded model values, ours on the 0.1 µg/m³ the API returns: a
# fraction of an index point apart, so nearly every hour should agree.
OPEN_METEO_MIN_AGREEMENT = 0.95


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
