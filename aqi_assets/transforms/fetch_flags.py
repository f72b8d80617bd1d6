"""What an answer was at the moment it was fetched: forecast hours and the model run behind it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from resources.open_meteo.client import OpenMeteoResource
from resources.open_meteo.model_run import META_PATH, ModelRun, read_model_run

# Added after the columns of the answer; silver carries them on, tables made earlier gain them.
FLAG_COLUMNS = ("is_forecast", "model_run_at")


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
    """The rows of hours that had happened when fetched (rows written before the flag count)."""
    if "is_forecast" not in rows.columns:
        return rows
    return rows.where(~F.coalesce(F.col("is_forecast"), F.lit(False)))


def carried_flags(rows: DataFrame) -> list[Column]:
    """The flags of `rows` to carry on; rows from before the flags existed count as past hours."""
    is_forecast = F.col("is_forecast") if "is_forecast" in rows.columns else F.lit(None)
    model_run_at = F.col("model_run_at") if "model_run_at" in rows.columns else F.lit(None)
    return [
        F.coalesce(is_forecast.cast("boolean"), F.lit(False)).alias("is_forecast"),
        model_run_at.cast("timestamp").alias("model_run_at"),
    ]


def answers_model_run(open_meteo: OpenMeteoResource, log: Any) -> ModelRun | None:
    """The run the coming answers are at least as new as (read before fetching); None, with one
    warning, when `meta.json` cannot be read."""
    run = read_model_run(open_meteo.base_url)
    if run is None:
        log.warning(
            f"{open_meteo.public_base_url}{META_PATH} cannot be read: model_run_at is null and "
            "the fetched days count as not final (the hourly refresh keeps yesterday open)."
        )
    return run
