"""Gold facts over fact_hourly: city-day aggregates and pollution episodes."""

import dagster as dg

from aqi_assets.catalog.registry import (
    DIM_DATE,
    DIM_LOCATION,
    FACT_CITY_DAILY,
    FACT_EPISODE,
    FACT_HOURLY,
    SILVER_HOURLY,
    asset_args,
)
from aqi_assets.config.pipeline_config import PipelineConfig
from aqi_assets.gold.fact_inputs import dimensions, read
from aqi_assets.quality.declared_checks import CheckInputs
from aqi_assets.quality.publish import Audit, gated, publish_window
from aqi_assets.transforms.aqi.epa_pm25 import AqiTable
from aqi_assets.transforms.daily import city_daily, day_finality
from aqi_assets.transforms.episodes import EPISODE_BOUNDS_SCHEMA, plan_rewrite
from aqi_assets.transforms.fetch_flags import past_hours
from resources.iceberg.window_writes import window_condition
from resources.spark.spark_resource import SparkIcebergResource


def build_facts(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """`fact_city_daily` and `fact_episode` over `partitions_def`."""

    @dg.asset(
        deps=[FACT_HOURLY.key, DIM_LOCATION.key, DIM_DATE.key],
        description=(
            "Per location and UTC day, from the hours that have happened: avg/max/min PM2.5, "
            "avg/max hourly AQI, daily_aqi (AQI of the 24-hour mean PM2.5, null under 18 hours "
            "with PM2.5), hours_with_pm25, the hours spent in each AQI category and is_final "
            "(fetched from a model run started after the day's end)."
        ),
        **asset_args(FACT_CITY_DAILY, partitions_def),
    )
    @gated
    def fact_city_daily(
        context: dg.AssetExecutionContext, spark: SparkIcebergResource, pipeline: PipelineConfig
    ) -> dg.MaterializeResult:
        start, end = context.partition_time_window
        hourly = read(spark, FACT_HOURLY).where(
            window_condition(FACT_HOURLY.window_column, start, end)
        )
        silver = read(spark, SILVER_HOURLY).where(
            window_condition(SILVER_HOURLY.window_column, start, end)
        )
        audit = Audit(
            CheckInputs(dimension=dimensions(spark, start, end), silver_hours=past_hours(silver))
        )
        df = city_daily(hourly, AqiTable(pipeline.aqi_breakpoints), day_finality(silver))
        return publish_window(
            spark, FACT_CITY_DAILY, df, start.date(), end.date(), audit=audit, context=context
        )

    @dg.asset(
        deps=[FACT_HOURLY.key, DIM_LOCATION.key],
        description=(
            "Pollution episodes: maximal runs of consecutive hours with AQI >= threshold lasting at "
            "least min_hours, computed whole across midnights and attributed to their start day. "
            "A run also rewrites the earlier or later start days whose episodes its hours touch."
        ),
        **asset_args(FACT_EPISODE, partitions_def),
    )
    @gated
    def fact_episode(
        context: dg.AssetExecutionContext, spark: SparkIcebergResource, pipeline: PipelineConfig
    ) -> dg.MaterializeResult:
        start, end = context.partition_time_window
        session = spark.spark_session
        hourly = past_hours(read(spark, FACT_HOURLY)).select("location_key", "ts_utc", "aqi")
        name = spark.table(*FACT_EPISODE.table)
        old = (
            session.table(name)
            if session.catalog.tableExists(name)
            else session.createDataFrame([], EPISODE_BOUNDS_SCHEMA)
        )
        plan = plan_rewrite(
            hourly, old, start, end, pipeline.episode_threshold, pipeline.episode_min_hours
        )
        try:
            audit = Audit(
                CheckInputs(dimension=dimensions(spark, start, end)),
                example_columns=("episode_id", "location_key", "start_ts"),
            )
            written = plan.to_write
            result = publish_window(
                spark,
                FACT_EPISODE,
                written,
                plan.write_start,
                plan.write_end,
                audit=audit,
                context=context,
                aqi_threshold=pipeline.episode_threshold,
                min_hours=pipeline.episode_min_hours,
                hours_read_since=plan.read_since.isoformat(),
                ongoing_episodes=written.where("is_ongoing").count(),
            )
        finally:
            plan.detected.unpersist()
        return result

    return [fact_city_daily, fact_episode]
