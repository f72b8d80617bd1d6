"""`fact_city_daily_local`: city-day measures on each location's local calendar days."""

from datetime import timedelta

import dagster as dg

from aqi_assets.catalog.registry import (
    DIM_LOCATION,
    FACT_CITY_DAILY_LOCAL,
    SILVER_HOURLY,
    asset_args,
)
from aqi_assets.config.pipeline_config import PipelineConfig
from aqi_assets.gold.fact_inputs import dimensions, read
from aqi_assets.quality.declared_checks import CheckInputs
from aqi_assets.quality.publish import Audit, gated, publish_window
from aqi_assets.transforms.aqi.epa_pm25 import AqiTable
from aqi_assets.transforms.local_days import READ_MARGIN_DAYS, local_daily
from resources.iceberg.window_writes import window_condition
from resources.spark.spark_resource import SparkIcebergResource


def build_local_days(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The local-day fact over `partitions_def` (a partition is a local date).

    Local day D of a zone ahead of UTC (Viet Nam, UTC+7) spans UTC days D-1 and D, so its
    partition depends on both: a late hour landing in either makes it stale.
    """

    @dg.asset(
        deps=[
            dg.AssetDep(
                SILVER_HOURLY.key,
                # The first local day has no UTC day before it: nothing to wait for.
                partition_mapping=dg.TimeWindowPartitionMapping(
                    start_offset=-1, allow_nonexistent_upstream_partitions=True
                ),
            ),
            DIM_LOCATION.key,
        ],
        description=(
            "Per location and local calendar day (`date_local`, the location's IANA time zone): "
            "the measures of fact_city_daily, `vn_aqi_daily` (VN_AQI, Decision 1459/QĐ-TCMT) and "
            "`who_pm25_exceeded` / `who_pm10_exceeded` (24-hour mean above the WHO 2021 "
            "guideline of 15 / 45 µg/m³, null under 18 hours with data)."
        ),
        **asset_args(FACT_CITY_DAILY_LOCAL, partitions_def),
    )
    @gated
    def fact_city_daily_local(
        context: dg.AssetExecutionContext, spark: SparkIcebergResource, pipeline: PipelineConfig
    ) -> dg.MaterializeResult:
        start, end = context.partition_time_window
        first, stop = start.date(), end.date()
        margin = timedelta(days=READ_MARGIN_DAYS)
        hours = read(spark, SILVER_HOURLY).where(
            window_condition(SILVER_HOURLY.window_column, start - margin, end + margin)
        )
        zones = spark.spark_session.createDataFrame(
            [(loc.key, loc.time_zone) for loc in pipeline.locations()],
            "location_key string, time_zone string",
        )
        df = local_daily(hours, zones, AqiTable(pipeline.aqi_breakpoints), first, stop)
        audit = Audit(CheckInputs(dimension=dimensions(spark, start, end)))
        return publish_window(
            spark, FACT_CITY_DAILY_LOCAL, df, first, stop, audit=audit, context=context
        )

    return fact_city_daily_local
