"""Hourly facts -> one row per location and UTC day."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from aqi_assets.transforms.aqi import AQI_CATEGORIES, AqiTable, aqi_column

AVG_DECIMALS = 3
CATEGORY_COLUMNS = (
    "hours_good",
    "hours_moderate",
    "hours_usg",
    "hours_unhealthy",
    "hours_very_unhealthy",
    "hours_hazardous",
)


def city_daily(hourly: DataFrame, aqi_table: AqiTable) -> DataFrame:
    """Daily PM2.5 / AQI statistics, `daily_aqi` from the 24-hour mean and hours per AQI category.

    Hours with a null AQI count in `total_hours` but in no category. Averages are rounded to
    3 decimals so the result does not depend on the order Spark sums in (cluster vs local).
    """
    per_category = [
        F.count(F.when(F.col("aqi").between(low, high), 1)).cast("int").alias(column)
        for column, (_, low, high) in zip(CATEGORY_COLUMNS, AQI_CATEGORIES, strict=True)
    ]
    daily = hourly.groupBy("location_key", "date_key").agg(
        F.round(F.avg("pm25"), AVG_DECIMALS).alias("avg_pm25"),
        F.max("pm25").alias("max_pm25"),
        F.min("pm25").alias("min_pm25"),
        F.round(F.avg("aqi"), AVG_DECIMALS).alias("avg_aqi"),
        F.max("aqi").alias("max_aqi"),
        F.count("*").cast("int").alias("total_hours"),
        *per_category,
    )
    return daily.select(
        "location_key",
        "date_key",
        F.to_date(F.col("date_key").cast("string"), "yyyyMMdd").alias("date_utc"),
        "avg_pm25",
        "max_pm25",
        "min_pm25",
        "avg_aqi",
        F.col("max_aqi").cast("int").alias("max_aqi"),
        aqi_column(F.col("avg_pm25"), aqi_table).alias("daily_aqi"),
        "total_hours",
        *CATEGORY_COLUMNS,
    )
