"""Hourly facts -> one row per location and UTC day, from the hours that have happened."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from aqi_assets.transforms.aqi.epa_pm25 import AQI_CATEGORIES, AqiTable, aqi_column
from aqi_assets.transforms.fetch_flags import past_hours

AVG_DECIMALS = 3
# Means are taken over a decimal sum: a double sum depends on the order Spark adds partial sums
# in, and a mean on a rounding boundary (x.xxx5) then rounds either way between two runs.
EXACT_INPUT = "decimal(20,6)"
# EPA's 75 % rule (SPEC section 9): fewer hours with PM2.5 leave the day without a daily AQI.
MIN_HOURS_FOR_DAILY_AQI = 18
CATEGORY_COLUMNS = (
    "hours_good",
    "hours_moderate",
    "hours_usg",
    "hours_unhealthy",
    "hours_very_unhealthy",
    "hours_hazardous",
)


def exact_mean(column: str) -> Column:
    """The mean of `column` rounded half up to AVG_DECIMALS, the same whatever the summing order."""
    return F.round(F.avg(F.col(column).cast(EXACT_INPUT)), AVG_DECIMALS).cast("double")


def day_finality(silver: DataFrame) -> DataFrame:
    """(location_key, date_key, is_final): every hour of the day was fetched from a model run
    started at or after the day's end; an hour of unknown run leaves the day open."""
    day_end = F.to_timestamp(F.date_add(F.to_date(F.col("ts_utc")), 1))
    final_hour = F.coalesce(F.col("model_run_at") >= day_end, F.lit(False))
    return silver.groupBy("location_key", "date_key").agg(F.bool_and(final_hour).alias("is_final"))


def city_daily(
    hourly: DataFrame, aqi_table: AqiTable, finality: DataFrame | None = None
) -> DataFrame:
    """Daily PM2.5 / AQI statistics, `daily_aqi` from the 24-hour mean and hours per AQI category.

    Only past hours count (forecast hours of today are left out). Hours with a null AQI count in
    `total_hours` but in no category; `daily_aqi` needs MIN_HOURS_FOR_DAILY_AQI hours with
    PM2.5. `finality` (`day_finality`) gives `is_final`; a day missing from it is not final.
    Averages are exact means rounded half up to 3 decimals (`exact_mean`), so a day rebuilt
    by another run, local or on a cluster, has the same values.
    """
    hourly = past_hours(hourly)
    per_category = [
        F.count(F.when(F.col("aqi").between(low, high), 1)).cast("int").alias(column)
        for column, (_, low, high) in zip(CATEGORY_COLUMNS, AQI_CATEGORIES, strict=True)
    ]
    daily = hourly.groupBy("location_key", "date_key").agg(
        exact_mean("pm25").alias("avg_pm25"),
        F.max("pm25").alias("max_pm25"),
        F.min("pm25").alias("min_pm25"),
        exact_mean("aqi").alias("avg_aqi"),
        F.max("aqi").alias("max_aqi"),
        F.count("*").cast("int").alias("total_hours"),
        F.count("pm25").cast("int").alias("hours_with_pm25"),
        *per_category,
    )
    if finality is not None:
        daily = daily.join(finality, ["location_key", "date_key"], "left")
    else:
        daily = daily.withColumn("is_final", F.lit(None).cast("boolean"))
    complete = F.col("hours_with_pm25") >= MIN_HOURS_FOR_DAILY_AQI
    return daily.select(
        "location_key",
        "date_key",
        F.to_date(F.col("date_key").cast("string"), "yyyyMMdd").alias("date_utc"),
        "avg_pm25",
        "max_pm25",
        "min_pm25",
        "avg_aqi",
        F.col("max_aqi").cast("int").alias("max_aqi"),
        F.when(complete, aqi_column(F.col("avg_pm25"), aqi_table)).alias("daily_aqi"),
        "total_hours",
        *CATEGORY_COLUMNS,
        "hours_with_pm25",
        F.coalesce(F.col("is_final"), F.lit(False)).alias("is_final"),
    )
