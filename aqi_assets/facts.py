"""Gold facts: hourly air quality, city-day aggregates and pollution episodes."""

from datetime import datetime

import dagster as dg
from pyspark.sql import DataFrame

from aqi_assets import checks, tables
from aqi_assets.partitions import BACKFILL_POLICY
from aqi_assets.pipeline_config import PipelineConfig
from aqi_assets.publish import Audit, gated, publish_window
from aqi_assets.tables import Layer, Table
from aqi_assets.transforms.aqi import AqiTable
from aqi_assets.transforms.daily import city_daily
from aqi_assets.transforms.episodes import EPISODE_BOUNDS_SCHEMA, plan_rewrite
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
COMMON = {
    "group_name": Layer.GOLD.value,
    "kinds": {"spark", "iceberg"},
    "backfill_policy": BACKFILL_POLICY,
}


def read(spark: SparkIcebergResource, table: Table) -> DataFrame:
    """The current snapshot of `table`; a clear error when it was never materialized."""
    name = spark.table(*table)
    if not spark.spark_session.catalog.tableExists(name):
        raise dg.Failure(
            f"{name} does not exist yet: materialize the asset that writes {table} first."
        )
    return spark.spark_session.table(name)


def dimension_checks(
    spark: SparkIcebergResource, start: datetime, end: datetime, with_time: bool = True
) -> list[checks.FrameCheck]:
    """Foreign-key checks of a fact over [start, end) against dim_location, dim_date (and dim_time).

    Only the dim_date partitions of the window are read: a fact row of another day is refused
    by its write anyway.
    """
    dates = read(spark, tables.DIM_DATE).where(
        window_condition("date_utc", start.date(), end.date())
    )
    found = [
        checks.in_dimension(checks.LOCATION_FK, "location_key", read(spark, tables.DIM_LOCATION)),
        checks.in_dimension(checks.DATE_FK, "date_key", dates),
    ]
    if with_time:
        found.append(checks.in_dimension(checks.TIME_FK, "time_key", read(spark, tables.DIM_TIME)))
    return found


def build_facts(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """`fact_hourly`, `fact_city_daily` and `fact_episode` over `partitions_def`."""

    @dg.asset(
        deps=["silver_hourly", "dim_location", "dim_date", "dim_time"],
        partitions_def=partitions_def,
        description="Star-schema fact per location and hour (gold.fact_air_quality_hourly).",
        metadata={"iceberg_table": str(tables.FACT_HOURLY)},
        check_specs=checks.check_specs("fact_hourly"),
        pool="iceberg_fact_hourly",
        **COMMON,
    )
    @gated
    def fact_hourly(
        context: dg.AssetExecutionContext, spark: SparkIcebergResource
    ) -> dg.MaterializeResult:
        start, end = context.partition_time_window
        silver = read(spark, tables.SILVER_HOURLY).where(window_condition("ts_utc", start, end))
        keys = ("location_key", "ts_utc")
        audit = Audit(
            asset="fact_hourly",
            keys=keys,
            blocking=[
                checks.unique(*keys),
                checks.not_null("location_key", "date_key", "time_key", "ts_utc"),
                *dimension_checks(spark, start, end),
            ],
            warnings=lambda write, _: [checks.row_count_drop("fact_hourly", write)],
        )
        return publish_window(
            spark,
            tables.FACT_HOURLY,
            silver.select(*FACT_HOURLY_COLUMNS),
            "ts_utc",
            start,
            end,
            audit=audit,
        )

    @dg.asset(
        deps=["fact_hourly", "dim_location", "dim_date"],
        partitions_def=partitions_def,
        description=(
            "Per location and UTC day: avg/max/min PM2.5, avg/max hourly AQI, daily_aqi (AQI of the "
            "24-hour mean PM2.5) and the hours spent in each AQI category."
        ),
        metadata={"iceberg_table": str(tables.FACT_CITY_DAILY)},
        check_specs=checks.check_specs("fact_city_daily"),
        pool="iceberg_fact_city_daily",
        **COMMON,
    )
    @gated
    def fact_city_daily(
        context: dg.AssetExecutionContext, spark: SparkIcebergResource, pipeline: PipelineConfig
    ) -> dg.MaterializeResult:
        start, end = context.partition_time_window
        hourly = read(spark, tables.FACT_HOURLY).where(window_condition("ts_utc", start, end))
        silver = read(spark, tables.SILVER_HOURLY).where(window_condition("ts_utc", start, end))
        keys = ("location_key", "date_key")
        audit = Audit(
            asset="fact_city_daily",
            keys=keys,
            blocking=[
                checks.unique(*keys),
                checks.not_null(*keys),
                *dimension_checks(spark, start, end, with_time=False),
                checks.total_hours_match(silver),
            ],
        )
        df = city_daily(hourly, AqiTable(pipeline.aqi_breakpoints))
        return publish_window(
            spark,
            tables.FACT_CITY_DAILY,
            df,
            "date_utc",
            start.date(),
            end.date(),
            audit=audit,
        )

    @dg.asset(
        deps=["fact_hourly", "dim_location"],
        partitions_def=partitions_def,
        description=(
            "Pollution episodes: maximal runs of consecutive hours with AQI >= threshold lasting at "
            "least min_hours, computed whole across midnights and attributed to their start day. "
            "A run also rewrites the earlier or later start days whose episodes its hours touch."
        ),
        metadata={"iceberg_table": str(tables.FACT_EPISODE)},
        check_specs=checks.check_specs("fact_episode"),
        pool="iceberg_fact_episode",
        **COMMON,
    )
    @gated
    def fact_episode(
        context: dg.AssetExecutionContext, spark: SparkIcebergResource, pipeline: PipelineConfig
    ) -> dg.MaterializeResult:
        start, end = context.partition_time_window
        session = spark.spark_session
        hourly = read(spark, tables.FACT_HOURLY).select("location_key", "ts_utc", "aqi")
        name = spark.table(*tables.FACT_EPISODE)
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
                asset="fact_episode",
                keys=("episode_id", "location_key", "start_ts"),
                blocking=[
                    checks.unique("episode_id"),
                    checks.not_null("episode_id", "location_key", "start_ts", "end_ts"),
                    checks.in_dimension(
                        checks.LOCATION_FK, "location_key", read(spark, tables.DIM_LOCATION)
                    ),
                ],
            )
            written = plan.to_write
            result = publish_window(
                spark,
                tables.FACT_EPISODE,
                written,
                "start_date",
                plan.write_start,
                plan.write_end,
                audit=audit,
                aqi_threshold=pipeline.episode_threshold,
                min_hours=pipeline.episode_min_hours,
                hours_read_since=plan.read_since.isoformat(),
                ongoing_episodes=written.where("is_ongoing").count(),
            )
        finally:
            plan.detected.unpersist()
        return result

    return [fact_hourly, fact_city_daily, fact_episode]
