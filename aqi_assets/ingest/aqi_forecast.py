"""`fact_aqi_forecast`: the model's forecast hours, from now to its horizon, replaced whole each hour.

Forecast hours never enter the partitioned tables (their days have not happened); this table
holds them instead, one row per location and hour, replaced in one Iceberg commit, so a reader
sees the previous forecast or the new one, never a mix.
"""

import functools
from datetime import date, timedelta

import dagster as dg
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from aqi_assets.catalog.registry import FACT_AQI_FORECAST, asset_args
from aqi_assets.config.pipeline_config import PipelineConfig
from aqi_assets.quality.metadata import utc_now
from aqi_assets.quality.publish import publish_table
from aqi_assets.transforms.aqi.epa_pm25 import AqiTable
from aqi_assets.transforms.bronze_rows import bronze_frame, payload_frame
from aqi_assets.transforms.fetch_flags import with_fetch_flags
from aqi_assets.transforms.forecast_rows import (
    daily_peaks,
    forecast_rows,
    outlook_markdown,
    zones_frame,
)
from resources.open_meteo.client import OpenMeteoError, OpenMeteoResource
from resources.open_meteo.model_run import ModelRun, answers_model_run
from resources.spark.spark_resource import SparkIcebergResource

# Without meta.json: CAMS global runs 120 h ahead of a start 10-22 h ago, so the horizon ends
# within the 5th day after today; later hours come back null and are dropped.
FORECAST_DAYS = 5
MODEL_HORIZON = timedelta(hours=120)


def forecast_days(run: ModelRun | None) -> tuple[date, date]:
    """The days the forecast request covers: the latest run's, from its start to its last step."""
    if run is None:
        today = utc_now().date()
        return today, today + timedelta(days=FORECAST_DAYS)
    return run.initialised_at.date(), (run.initialised_at + MODEL_HORIZON).date()


@dg.asset(
    **asset_args(FACT_AQI_FORECAST),
    description=(
        "PM2.5 and US AQI forecast per location and hour, from now to the end of the model's "
        "horizon (about 5 days), with the location's local day, the model run and the fetch "
        "instant. Replaced whole in one Iceberg commit by each hourly refresh; its metadata "
        "shows each city's highest forecast AQI per local day."
    ),
)
def fact_aqi_forecast(
    context: dg.AssetExecutionContext,
    spark: SparkIcebergResource,
    open_meteo: OpenMeteoResource,
    pipeline: PipelineConfig,
) -> dg.MaterializeResult:
    locations = pipeline.locations()
    run = answers_model_run(open_meteo.base_url, open_meteo.public_base_url, context.log)
    first, last = forecast_days(run)
    session = spark.spark_session
    frames: list[DataFrame] = []
    try:
        # Part of the hourly refresh, though 6 days long: it may spend the reserve a backfill
        # leaves (a backfill holding the hour's budget would otherwise refuse it).
        answers = open_meteo.fetch_requests(locations, first, last, refresh=True)
        for answer in answers:
            fetched_at = answer.fetched_at or utc_now()
            rows = bronze_frame(
                payload_frame(session, answer.items),
                utc_now(),
                context.run_id,
                variables=open_meteo.hourly_variables,
            )
            flagged = with_fetch_flags(rows, fetched_at, run.initialised_at if run else None)
            frames.append(flagged.withColumn("fetched_at", F.lit(fetched_at).cast("timestamp")))
    except OpenMeteoError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None
    zones = zones_frame(session, {loc.key: loc.time_zone for loc in locations})
    forecast = forecast_rows(
        functools.reduce(DataFrame.union, frames), zones, AqiTable(pipeline.aqi_breakpoints)
    )
    result = publish_table(
        spark,
        FACT_AQI_FORECAST,
        forecast,
        model_run_at=run.initialised_at.isoformat() if run else "unknown",
    )
    written = session.table(spark.table(*FACT_AQI_FORECAST.table))
    names = {loc.key: loc.name for loc in locations}
    outlook = outlook_markdown(daily_peaks(written), names)
    return dg.MaterializeResult(
        asset_key=FACT_AQI_FORECAST.key,
        metadata={**result.metadata, "highest_aqi_per_local_day": dg.MetadataValue.md(outlook)},
    )
