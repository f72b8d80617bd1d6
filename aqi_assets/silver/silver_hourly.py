"""Silver layer: typed, validated, deduplicated hours (`silver_hourly`) and what failed (`silver_rejects`)."""

from datetime import datetime, timedelta

import dagster as dg
from pyspark.sql import DataFrame

from aqi_assets.catalog.registry import (
    BRONZE_RAW,
    SILVER_HOURLY,
    SILVER_REJECTS,
    asset_spec,
    multi_asset_args,
)
from aqi_assets.config.pipeline_config import PipelineConfig
from aqi_assets.quality.declared_checks import CheckInputs
from aqi_assets.quality.metadata import utc_now
from aqi_assets.quality.publish import Audit, gated
from aqi_assets.quality.step_writes import Pending, publish_together
from aqi_assets.transforms.aqi.agency import (
    RECOMPUTED_OPEN_METEO,
    SILVER_LOOKBACK_HOURS,
    silver_with_lookback,
)
from aqi_assets.transforms.aqi.breakpoints import EPA_PM25
from aqi_assets.transforms.aqi.epa_pm25 import AqiTable
from aqi_assets.transforms.silver_rows import split_ranked, with_reasons
from resources.iceberg.window_writes import window_condition
from resources.spark.spark_resource import SparkIcebergResource


def previous_hours(
    spark: SparkIcebergResource, like: DataFrame, since: datetime, start: datetime
) -> DataFrame:
    """Silver's stored rows of [since, start) with the columns of `like` (none on a new table).

    The rows are brought to the driver (a day of hours per location at most): a frame that
    still read the table would have Spark drop the cached silver frame when the commit lands,
    and the checks after it would recompute the whole window.
    """
    session = spark.spark_session
    name = spark.table(*SILVER_HOURLY.table)
    if not session.catalog.tableExists(name):
        return session.createDataFrame([], like.schema)
    stored = session.table(name).where(window_condition(SILVER_HOURLY.window_column, since, start))
    return session.createDataFrame(stored.select(*like.columns).collect(), like.schema)


def build_silver(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """`silver_hourly` and `silver_rejects`, computed together from one read of bronze."""

    @dg.multi_asset(
        specs=[
            asset_spec(
                SILVER_HOURLY,
                deps=[BRONZE_RAW.key],
                description=(
                    "One row per location and UTC hour: pollutants renamed, validated, deduplicated "
                    "on (location_key, ts_utc) keeping the latest ingest, with date/time keys and "
                    "the US EPA PM2.5 AQI and its category, the EPA NowCast of PM2.5 and PM10 "
                    "with their AQI (and untruncated, `nowcast_pm25_raw` / `nowcast_pm10_raw`, "
                    "which VN_AQI's hourly PM sub-indices read), and Open-Meteo's own PM2.5 "
                    "index recomputed its way."
                ),
            ),
            asset_spec(
                SILVER_REJECTS,
                deps=[BRONZE_RAW.key],
                description="Every bronze row that failed validation, unchanged, with its reason.",
            ),
        ],
        **multi_asset_args([SILVER_HOURLY, SILVER_REJECTS], partitions_def, can_subset=False),
    )
    @gated
    def silver(
        context: dg.AssetExecutionContext, spark: SparkIcebergResource, pipeline: PipelineConfig
    ):
        start, end = context.partition_time_window
        first, stop = start.date(), end.date()
        session = spark.spark_session
        locations = [loc.key for loc in pipeline.locations()]
        aqi_table = AqiTable(pipeline.aqi_breakpoints)
        bronze = session.table(spark.table(*BRONZE_RAW.table)).where(
            window_condition(BRONZE_RAW.window_column, first, stop)
        )
        # Without duplicates the rows are split as read: each consumer scans bronze again
        # (column-pruned Parquet), cheaper than ranking and caching every bronze column.
        ranked, duplicates = with_reasons(bronze, locations)
        if duplicates:
            ranked = ranked.persist()
        silver_df, rejects_df = split_ranked(ranked, aqi_table, rejected_at=utc_now())
        # The NowCast and the Open-Meteo recomputation read the hours before the window too:
        # silver's own, already validated and deduplicated.
        since = start - timedelta(hours=SILVER_LOOKBACK_HOURS)
        lookback = previous_hours(spark, silver_df, since, start)
        silver_df = silver_with_lookback(silver_df, lookback, start, EPA_PM25[aqi_table])
        rejects_df = rejects_df.persist()
        # Cached here, not by the publish: the row balance is counted before any commit.
        silver_df = silver_df.persist()
        try:
            rows_in, rejected = ranked.count(), rejects_df.count()
            kept = silver_df.count()
            if kept + rejected != rows_in:
                # Before the first commit: both tables keep their previous snapshots.
                raise dg.Failure(
                    f"Silver would lose rows: {rows_in} in, {kept} kept, {rejected} rejected. "
                    "Nothing was written: silver_hourly and silver_rejects keep their previous "
                    "snapshots.",
                    metadata={"rows_in": rows_in, "rows_kept": kept, "rows_rejected": rejected},
                    allow_retries=False,
                )
            balance = {"rows_in": rows_in, "rows_rejected": rejected}
            audit = Audit(
                CheckInputs(
                    aqi_table=aqi_table,
                    locations=tuple(locations),
                    today=utc_now().date(),
                    rows_in=rows_in,
                    rejected=rejected,
                    max_reject_ratio=pipeline.max_reject_ratio,
                    recomputed=RECOMPUTED_OPEN_METEO,
                ),
                cache_frame=False,
            )
            reasons = rejects_df.groupBy("reason").count().collect()
            reject_reasons = dg.MetadataValue.json({r["reason"]: r["count"] for r in reasons})
            # Both tables' blocking checks run before either commit.
            yield from publish_together(
                spark,
                [
                    Pending(SILVER_HOURLY, silver_df, start, end, audit, balance),
                    Pending(
                        SILVER_REJECTS,
                        rejects_df,
                        first,
                        stop,
                        # Cached above: the preview and partition counts read the cache.
                        Audit(cache_frame=False),
                        {**balance, "reject_reasons": reject_reasons},
                    ),
                ],
                context,
            )
        finally:
            if duplicates:
                ranked.unpersist()
            rejects_df.unpersist()
            silver_df.unpersist()

    return silver
