"""What an answer was at the moment it was fetched: forecast hours and the model run behind it."""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F


def forecast_flag(ts: Column, fetched_at: datetime) -> Column:
    """True for an hour later than the instant the answer was fetched (a model forecast)."""
    return ts > F.lit(fetched_at).cast("timestamp")


def with_fetch_flags(
    rows: DataFrame, fetched_at: datetime, model_run_at: datetime | None
) -> DataFrame:
    """`rows` (with `ts_utc`) plus `is_forecast` and `model_run_at` (null when unknown)."""
    return rows.withColumn("is_forecast", forecast_flag(F.col("ts_utc"), fetched_at)).withColumn(
        "model_run_at", F.lit(model_run_at).cast("timestamp")
    )


def past_hours(rows: DataFrame) -> DataFrame:
    """The rows of hours that had happened when fetched."""
    return rows.where(~F.col("is_forecast"))
