"""Gold facts: hourly air quality, city-day aggregates and pollution episodes."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
from pyspark.sql import functions as F

from aqi_assets import tables
from aqi_assets.partitions import BACKFILL_POLICY
from aqi_assets.pipeline_config import PipelineConfig
from aqi_assets.publish import publish_window
from aqi_assets.tables import Layer
from aqi_assets.transforms.aqi import AqiTable
from aqi_assets.transforms.daily import city_daily
from aqi_assets.transforms.episodes import affected_start_dates, detect_episodes
from resources.iceberg_writes import window_condition
from resources.spark import SparkIcebergResource

FACT_HOURLY_COLUMNS = (
    "location_key",
    "date_key",
    "time_key",
    "ts_utc",
    "pm25",
    "pm10",
    "o3",
    "no2",
    "so2",
    "co",
    "aqi",
    "aod",
    "dust",
    "uv_index",
)
COMMON = {"group_name": Layer.GOLD, "kinds": {"spark", "iceberg"}, "backfill_policy": BACKFILL_POLICY}


def build_facts(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """`fact_hourly`, `fact_city_daily` and `fact_episode` over `partitions_def`."""

    @dg.asset(
        deps=["silver_hourly"],
        partitions_def=partitions_def,
        description="Star-schema fact per location and hour (gold.fact_air_quality_hourly).",
        metadata={"iceberg_table": str(tables.FACT_HOURLY)},
        pool="iceberg_fact_hourly",
        **COMMON,
    )
    def fact_hourly(context: dg.AssetExecutionContext, spark: SparkIcebergResource) -> dg.MaterializeResult:
        start, end = context.partition_time_window
        silver = spark.spark_session.table(spark.table(*tables.SILVER_HOURLY))
        df = silver.where(window_condition("ts_utc", start, end)).select(*FACT_HOURLY_COLUMNS)
        return publish_window(spark, tables.FACT_HOURLY, df, "ts_utc", start, end, [F.days("ts_utc")])

    @dg.asset(
        deps=["fact_hourly"],
        partitions_def=partitions_def,
        description=(
            "Per location and UTC day: avg/max/min PM2.5, avg/max hourly AQI, daily_aqi (AQI of the "
            "24-hour mean PM2.5) and the hours spent in each AQI category."
        ),
        metadata={"iceberg_table": str(tables.FACT_CITY_DAILY)},
        pool="iceberg_fact_city_daily",
        **COMMON,
    )
    def fact_city_daily(
        context: dg.AssetExecutionContext, spark: SparkIcebergResource, pipeline: PipelineConfig
    ) -> dg.MaterializeResult:
        start, end = context.partition_time_window
        hourly = spark.spark_session.table(spark.table(*tables.FACT_HOURLY))
        df = city_daily(hourly.where(window_condition("ts_utc", start, end)), AqiTable(pipeline.aqi_breakpoints))
        return publish_window(
            spark, tables.FACT_CITY_DAILY, df, "date_utc", start.date(), end.date(), [F.col("date_utc")]
        )

    @dg.asset(
        deps=["fact_hourly"],
        partitions_def=partitions_def,
        description=(
            "Pollution episodes: maximal runs of consecutive hours with AQI >= threshold lasting at "
            "least min_hours, computed whole across midnights and attributed to their start day. "
            "A run also rewrites the earlier or later start days whose episodes its hours touch."
        ),
        metadata={"iceberg_table": str(tables.FACT_EPISODE)},
        pool="iceberg_fact_episode",
        **COMMON,
    )
    def fact_episode(
        context: dg.AssetExecutionContext, spark: SparkIcebergResource, pipeline: PipelineConfig
    ) -> dg.MaterializeResult:
        start, end = context.partition_time_window
        session = spark.spark_session
        hourly = session.table(spark.table(*tables.FACT_HOURLY)).select("location_key", "ts_utc", "aqi")
        episodes = detect_episodes(hourly, pipeline.episode_threshold, pipeline.episode_min_hours).persist()
        try:
            name = spark.table(*tables.FACT_EPISODE)
            old = session.table(name) if session.catalog.tableExists(name) else episodes.limit(0)
            bounds = affected_start_dates(episodes, old, start, end).agg(
                F.min("start_date").alias("lo"), F.max("start_date").alias("hi")
            ).first()
            write_start = min(start.date(), bounds["lo"] or start.date())
            write_end = max(end.date(), (bounds["hi"] or start.date()) + timedelta(days=1))
            df = episodes.where(window_condition("start_date", write_start, write_end))
            result = publish_window(
                spark,
                tables.FACT_EPISODE,
                df,
                "start_date",
                write_start,
                write_end,
                [F.col("start_date")],
                aqi_threshold=pipeline.episode_threshold,
                min_hours=pipeline.episode_min_hours,
            )
        finally:
            episodes.unpersist()
        return result

    return [fact_hourly, fact_city_daily, fact_episode]
