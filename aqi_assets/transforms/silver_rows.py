"""Bronze rows -> silver hours (typed, validated, deduplicated, with AQI) and rejects with reasons."""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from aqi_assets.catalog.pollutants import cross_check_columns, measured_columns, value_ranges
from aqi_assets.transforms.aqi.epa_pm25 import AqiTable, aqi_category_column, aqi_column

# Open-Meteo variable -> silver column, Open-Meteo's own indices and the physically plausible
# [min, max] per silver column: from the pollutant catalogue, the single source for silver and
# checks.
POLLUTANT_COLUMNS: dict[str, str] = measured_columns()
CROSS_CHECK_COLUMNS = cross_check_columns()
VALUE_RANGES: dict[str, tuple[float, float]] = value_ranges()

SILVER_COLUMNS = (
    "location_key",
    "ts_utc",
    "date_key",
    "time_key",
    *POLLUTANT_COLUMNS.values(),
    *CROSS_CHECK_COLUMNS,
    "aqi",
    "aqi_category",
    "ingested_at",
    "batch_id",
    "row_hash",
    "is_forecast",
    "model_run_at",
)
DUPLICATE = "duplicate_superseded"


def date_key(ts: Column) -> Column:
    """yyyyMMdd of a UTC instant as an int, by arithmetic (no string formatting per row)."""
    return F.year(ts) * 10000 + F.month(ts) * 100 + F.dayofmonth(ts)


def rejection_reason(known_locations: list[str]) -> Column:
    """The first validation rule a bronze row breaks, as a stable reason string; null if valid."""
    reason = F.when(F.col("ts_utc").isNull(), F.lit("unparseable_timestamp")).when(
        ~F.col("location_key").isin(known_locations) | F.col("location_key").isNull(),
        F.lit("unknown_location"),
    )
    for source, column in POLLUTANT_COLUMNS.items():
        value = F.col(source)
        low, high = VALUE_RANGES[column]
        reason = (
            reason.when(F.isnan(value), F.lit(f"not_a_number:{column}"))
            .when(value < low, F.lit(f"negative_value:{column}"))
            .when(value > high, F.lit(f"out_of_range:{column}"))
        )
    return reason


def validate_bronze(bronze: DataFrame, known_locations: list[str]) -> DataFrame:
    """Bronze rows with `reason`: the first validation rule a row breaks, or null."""
    return bronze.withColumn("reason", rejection_reason(known_locations))


def has_duplicate_hours(validated: DataFrame) -> bool:
    """Whether two valid rows of `validate_bronze` share a location and hour.

    Counting the keys shuffles two columns; ranking shuffles and sorts every bronze column, the
    kilobyte-long request URL included. Bronze replaces whole days from one answer, so this is
    normally false and the ranking is skipped.
    """
    valid = validated.where(F.col("reason").isNull())
    repeated = valid.groupBy("location_key", "ts_utc").count().where(F.col("count") > 1)
    return not repeated.isEmpty()


def supersede_duplicates(validated: DataFrame) -> DataFrame:
    """`validate_bronze` rows with `duplicate_superseded` on every valid row but the latest.

    Valid rows are deduplicated on (location_key, ts_utc) keeping the latest ingest (then the
    highest batch id and row hash, so ties resolve the same way every time). Only valid rows
    compete: a later invalid reading is rejected for its own reason and never supersedes an
    earlier valid one. Persist the result to split it without ranking twice.
    """
    latest_first = Window.partitionBy("location_key", "ts_utc", F.col("reason").isNull()).orderBy(
        F.col("ingested_at").desc(), F.col("batch_id").desc(), F.col("row_hash").desc()
    )
    return validated.withColumn(
        "reason",
        F.when(F.col("reason").isNotNull(), F.col("reason")).when(
            F.row_number().over(latest_first) > 1, F.lit(DUPLICATE)
        ),
    )


def with_reasons(bronze: DataFrame, known_locations: list[str]) -> tuple[DataFrame, bool]:
    """(Bronze rows with `reason`, whether they were ranked): duplicates are superseded only
    when a valid hour repeats. Persist a ranked frame to split it without ranking twice."""
    validated = validate_bronze(bronze, known_locations)
    if has_duplicate_hours(validated):
        return supersede_duplicates(validated), True
    return validated, False


def split_ranked(
    ranked: DataFrame, aqi_table: AqiTable, rejected_at: Column | datetime
) -> tuple[DataFrame, DataFrame]:
    """Validated (or ranked) bronze -> (silver, rejects): rows with a reason are rejected as
    they came."""
    bronze_columns = [c for c in ranked.columns if c != "reason"]
    when = rejected_at if isinstance(rejected_at, Column) else F.lit(rejected_at).cast("timestamp")
    rejects = ranked.where(F.col("reason").isNotNull()).select(
        *bronze_columns, "reason", when.alias("rejected_at")
    )
    kept = ranked.where(F.col("reason").isNull())
    pm25 = F.col("pm2_5")
    silver = kept.select(
        "location_key",
        "ts_utc",
        date_key(F.col("ts_utc")).alias("date_key"),
        F.hour("ts_utc").alias("time_key"),
        *[F.col(source).alias(column) for source, column in POLLUTANT_COLUMNS.items()],
        *CROSS_CHECK_COLUMNS,
        aqi_column(pm25, aqi_table).alias("aqi"),
        "ingested_at",
        "batch_id",
        "row_hash",
        "is_forecast",
        "model_run_at",
    )
    # The category reads the computed column: Spark keeps the projections apart rather than
    # evaluating the AQI expression twice per row.
    with_category = silver.withColumn("aqi_category", aqi_category_column(F.col("aqi")))
    return with_category.select(*SILVER_COLUMNS), rejects
