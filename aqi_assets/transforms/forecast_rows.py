"""Forecast hours of an answer -> `fact_aqi_forecast` rows, and the per-city daily outlook."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from aqi_assets.transforms.aqi.epa_pm25 import AqiTable, aqi_category_column, aqi_column
from aqi_assets.transforms.silver_rows import VALUE_RANGES

FORECAST_COLUMNS = (
    "location_key",
    "ts_utc",
    "date_local",
    "pm25",
    "aqi",
    "aqi_category",
    "model_run_at",
    "fetched_at",
)


def zones_frame(spark: SparkSession, zones: dict[str, str]) -> DataFrame:
    """(location_key, time_zone) rows of the locations file."""
    return spark.createDataFrame(sorted(zones.items()), "location_key string, time_zone string")


def forecast_rows(flagged: DataFrame, zones: DataFrame, aqi_table: AqiTable) -> DataFrame:
    """Hours of `flagged` bronze rows later than their fetch instant that carry a valid PM2.5.

    `flagged` has bronze's columns plus `is_forecast`, `model_run_at` and `fetched_at`; hours
    past the model's horizon come back null and are left out, as are impossible values.
    `date_local` is the hour's calendar day in its location's time zone.
    """
    low, high = VALUE_RANGES["pm25"]
    pm25 = F.col("pm2_5")
    future = flagged.where(
        F.col("is_forecast") & pm25.isNotNull() & ~F.isnan(pm25) & pm25.between(low, high)
    )
    with_zone = future.join(F.broadcast(zones), "location_key", "left")
    local_day = F.to_date(
        F.from_utc_timestamp("ts_utc", F.coalesce(F.col("time_zone"), F.lit("UTC")))
    )
    rows = with_zone.select(
        "location_key",
        "ts_utc",
        local_day.alias("date_local"),
        pm25.alias("pm25"),
        aqi_column(pm25, aqi_table).alias("aqi"),
        F.col("model_run_at").cast("timestamp").alias("model_run_at"),
        F.col("fetched_at").cast("timestamp").alias("fetched_at"),
    )
    return rows.withColumn("aqi_category", aqi_category_column(F.col("aqi"))).select(
        *FORECAST_COLUMNS
    )


def daily_peaks(forecast: DataFrame) -> list[tuple[str, str, int]]:
    """(location_key, date_local, highest forecast AQI) for every location and local day."""
    peaks = forecast.groupBy("location_key", "date_local").agg(F.max("aqi").alias("peak"))
    return [
        (r["location_key"], r["date_local"].isoformat(), r["peak"])
        for r in peaks.orderBy("location_key", "date_local").collect()
    ]


def outlook_markdown(peaks: Sequence[tuple[str, str, int]], names: dict[str, str]) -> str:
    """The highest forecast AQI per city (rows) and local day (columns), as a Markdown table."""
    days = sorted({day for _, day, _ in peaks})
    cells = {(key, day): aqi for key, day, aqi in peaks}
    keys = sorted({key for key, _, _ in peaks}, key=lambda k: names.get(k, k))
    header = "| city | " + " | ".join(days) + " |"
    rule = "|---|" + "---|" * len(days)
    body = [
        f"| {names.get(key, key)} | "
        + " | ".join(str(cells.get((key, day), "")) for day in days)
        + " |"
        for key in keys
    ]
    return "\n".join([header, rule, *body])
