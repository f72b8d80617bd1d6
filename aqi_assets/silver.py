"""Silver layer: typed, validated, deduplicated hours (`silver_hourly`) and what failed (`silver_rejects`)."""

from __future__ import annotations

import dagster as dg
from pyspark.sql import functions as F

from aqi_assets import tables
from aqi_assets.metadata import utc_now
from aqi_assets.partitions import BACKFILL_POLICY
from aqi_assets.pipeline_config import PipelineConfig
from aqi_assets.publish import publish_window
from aqi_assets.tables import Layer
from aqi_assets.transforms.aqi import AqiTable
from aqi_assets.transforms.silver import clean_bronze
from resources.iceberg_writes import window_condition
from resources.spark import SparkIcebergResource

SILVER_HOURLY_KEY = dg.AssetKey("silver_hourly")
SILVER_REJECTS_KEY = dg.AssetKey("silver_rejects")


def build_silver(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """`silver_hourly` and `silver_rejects`, computed together from one read of bronze."""
    common = {
        "deps": ["bronze_raw"],
        "group_name": Layer.SILVER,
        "kinds": {"spark", "iceberg"},
    }

    @dg.multi_asset(
        specs=[
            dg.AssetSpec(
                SILVER_HOURLY_KEY,
                description=(
                    "One row per location and UTC hour: pollutants renamed, validated, deduplicated "
                    "on (location_key, ts_utc) keeping the latest ingest, with date/time keys and "
                    "the US EPA PM2.5 AQI and its category."
                ),
                metadata={"iceberg_table": str(tables.SILVER_HOURLY)},
                **common,
            ),
            dg.AssetSpec(
                SILVER_REJECTS_KEY,
                description="Every bronze row that failed validation, unchanged, with its reason.",
                metadata={"iceberg_table": str(tables.SILVER_REJECTS)},
                **common,
            ),
        ],
        partitions_def=partitions_def,
        backfill_policy=BACKFILL_POLICY,
        pool="iceberg_silver",
        can_subset=False,
    )
    def silver(context: dg.AssetExecutionContext, spark: SparkIcebergResource, pipeline: PipelineConfig):
        window = context.partition_time_window
        start, end = window.start, window.end
        session = spark.spark_session
        bronze = (
            session.table(spark.table(*tables.BRONZE_RAW))
            .where(window_condition("event_date", start.date(), end.date()))
            .persist()
        )
        try:
            rows_in = bronze.count()
            silver_df, rejects_df = clean_bronze(
                bronze,
                [loc.key for loc in pipeline.locations()],
                AqiTable(pipeline.aqi_breakpoints),
                rejected_at=utc_now(),
            )
            silver_result = publish_window(
                spark, tables.SILVER_HOURLY, silver_df, "ts_utc", start, end, [F.days("ts_utc")],
                asset_key=SILVER_HOURLY_KEY,
            )
            rejects_result = publish_window(
                spark, tables.SILVER_REJECTS, rejects_df, "event_date", start.date(), end.date(),
                [F.col("event_date")], asset_key=SILVER_REJECTS_KEY,
            )
        finally:
            bronze.unpersist()
        reasons = (
            session.table(spark.table(*tables.SILVER_REJECTS))
            .where(window_condition("event_date", start.date(), end.date()))
            .groupBy("reason")
            .count()
            .collect()
        )
        rejected = rejects_result.metadata["rows_written"]
        balance = {
            "rows_in": rows_in,
            "rows_silver": silver_result.metadata["rows_written"],
            "rows_rejected": rejected,
            "reject_ratio": round(rejected / rows_in, 4) if rows_in else 0.0,
        }
        if balance["rows_silver"] + rejected != rows_in:
            raise RuntimeError(f"Silver lost rows: {balance}")
        yield dg.MaterializeResult(
            asset_key=SILVER_HOURLY_KEY, metadata={**silver_result.metadata, **balance}
        )
        yield dg.MaterializeResult(
            asset_key=SILVER_REJECTS_KEY,
            metadata={
                **rejects_result.metadata,
                **balance,
                "reject_reasons": dg.MetadataValue.json({r["reason"]: r["count"] for r in reasons}),
            }
        )

    return silver
