"""`fact_hourly` and `fact_pollutant_hourly`: the hourly gold facts, computed together.

Both come from the same silver hours with every pollutant's averages and sub-indices: one step
computes them once, writes the per-pollutant rows, then the hourly fact with the overall
indices those rows give.
"""

from collections.abc import Iterator
from datetime import datetime, timedelta

import dagster as dg
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from aqi_assets.catalog.registry import (
    DIM_DATE,
    DIM_LOCATION,
    DIM_POLLUTANT,
    DIM_TIME,
    FACT_HOURLY,
    FACT_POLLUTANT_HOURLY,
    SILVER_HOURLY,
    Check,
    asset_spec,
    multi_asset_args,
)
from aqi_assets.config.pipeline_config import PipelineConfig
from aqi_assets.gold.fact_inputs import dimensions, read
from aqi_assets.quality import blocking_checks
from aqi_assets.quality.declared_checks import CheckInputs
from aqi_assets.quality.publish import Audit, gated
from aqi_assets.quality.step_writes import Pending, publish_together
from aqi_assets.transforms.aqi.agency import (
    INDEX_COLUMNS,
    LOOKBACK_HOURS,
    POLLUTANT_ROW_INPUTS,
    POLLUTANTS,
    indexed_hours,
    pollutant_rows,
    with_overall_indices,
)
from aqi_assets.transforms.aqi.breakpoints import EPA_PM25
from aqi_assets.transforms.aqi.epa_pm25 import AqiTable
from resources.iceberg.window_writes import window_condition
from resources.spark.spark_resource import SparkIcebergResource

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
    "nowcast_pm25",
    "nowcast_aqi",
    "nowcast_pm10",
    "nowcast_pm10_aqi",
    *INDEX_COLUMNS,
)
POLLUTANT_FACT_COLUMNS = (
    "location_key",
    "date_key",
    "time_key",
    "ts_utc",
    "pollutant_key",
    "concentration",
    "unit",
    "averaging_period",
    "averaged_concentration",
    "averaged_unit",
    "epa_sub_index",
    "vn_sub_index",
    "is_forecast",
)


def silver_hours(spark: SparkIcebergResource, since: datetime, end: datetime) -> DataFrame:
    """Silver's rows of [since, end), with the untruncated NowCasts silver stores."""
    return read(spark, SILVER_HOURLY).where(
        window_condition(SILVER_HOURLY.window_column, since, end)
    )


def silver_with_indices(
    spark: SparkIcebergResource, start: datetime, end: datetime, aqi_table: AqiTable
) -> DataFrame:
    """Silver hours of [start, end) with every pollutant's averages and sub-indices.

    Reads the LOOKBACK_HOURS before `start` for the 24-hour and 8-hour means, then drops them.
    """
    since = start - timedelta(hours=LOOKBACK_HOURS)
    indexed = indexed_hours(silver_hours(spark, since, end), EPA_PM25[aqi_table])
    return indexed.where(indexed["ts_utc"] >= start)


def hourly_frame(
    spark: SparkIcebergResource, start: datetime, end: datetime, aqi_table: AqiTable
) -> DataFrame:
    """The window's hours with fact_hourly's columns and what the per-pollutant rows need."""
    indexed = with_overall_indices(silver_with_indices(spark, start, end, aqi_table))
    return indexed.select(*FACT_HOURLY_COLUMNS, "is_forecast", *POLLUTANT_ROW_INPUTS)


def pending_pollutant_rows(
    spark: SparkIcebergResource, hours: DataFrame, start: datetime, end: datetime, aqi: AqiTable
) -> Pending:
    """`hours` (from `hourly_frame`, cached) as one row per pollutant, with its checks' inputs."""
    pollutants = read(spark, DIM_POLLUTANT).select("pollutant_key", "unit")
    rows = pollutant_rows(hours, EPA_PM25[aqi], ("is_forecast",))
    per_pollutant = rows.join(F.broadcast(pollutants), "pollutant_key", "left")
    *hour_keys, pollutant_key = FACT_POLLUTANT_HOURLY.keys
    # Uniqueness counted on the hours the rows come from: the larger frame is not shuffled.
    unique = blocking_checks.unique_expanded(hours, hour_keys, pollutant_key, len(POLLUTANTS))
    audit = Audit(
        CheckInputs(dimension=dimensions(spark, start, end), faster={Check.UNIQUE: unique}),
        # Six rows per hour: exploding the cached hours again is cheaper than caching the rows.
        cache_frame=False,
    )
    frame = per_pollutant.select(*POLLUTANT_FACT_COLUMNS)
    return Pending(FACT_POLLUTANT_HOURLY, frame, start, end, audit)


def pending_hourly(
    spark: SparkIcebergResource, hours: DataFrame, start: datetime, end: datetime
) -> Pending:
    """`hours` (from `hourly_frame`, cached) as fact_hourly, with its checks' inputs."""
    audit = Audit(CheckInputs(dimension=dimensions(spark, start, end)), cache_frame=False)
    frame = hours.select(*FACT_HOURLY_COLUMNS, "is_forecast")
    return Pending(FACT_HOURLY, frame, start, end, audit)


def build_hourly_facts(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """`fact_hourly` and `fact_pollutant_hourly` over `partitions_def`, one step for both
    (either alone when only one is selected)."""

    @dg.multi_asset(
        specs=[
            asset_spec(
                FACT_POLLUTANT_HOURLY,
                deps=[SILVER_HOURLY.key, DIM_LOCATION.key, DIM_POLLUTANT.key],
                description=(
                    "Per location, UTC hour and pollutant (PM2.5, PM10, O3, NO2, SO2, CO; keys of "
                    "dim_pollutant): the hourly concentration and its unit, the EPA averaging "
                    "period, the averaged concentration truncated in the EPA table's unit (ppm, "
                    "ppb or µg/m³, 25 °C conversions), `epa_sub_index` (EPA TAD 2024) and "
                    "`vn_sub_index` (hourly VN_AQI, Decision 1459/QĐ-TCMT)."
                ),
            ),
            asset_spec(
                FACT_HOURLY,
                deps=[SILVER_HOURLY.key, DIM_LOCATION.key, DIM_DATE.key, DIM_TIME.key],
                description=(
                    f"Star-schema fact per location and hour ({FACT_HOURLY.table}); `is_forecast` "
                    "marks today's hours that had not happened when fetched. Beside the seed's "
                    "PM2.5 `aqi`: the EPA NowCast and its AQI (PM2.5, PM10), `aqi_overall` "
                    "(largest EPA sub-index of all pollutants, each on its averaging period) with "
                    "`dominant_pollutant`, and `vn_aqi` (Viet Nam's hourly VN_AQI, Decision "
                    "1459/QĐ-TCMT) with its own: the largest sub-index of the hour's rows in "
                    "fact_pollutant_hourly."
                ),
            ),
        ],
        **multi_asset_args([FACT_HOURLY, FACT_POLLUTANT_HOURLY], partitions_def, can_subset=True),
    )
    @gated
    def hourly_facts(
        context: dg.AssetExecutionContext, spark: SparkIcebergResource, pipeline: PipelineConfig
    ) -> Iterator[dg.MaterializeResult]:
        start, end = context.partition_time_window
        aqi = AqiTable(pipeline.aqi_breakpoints)
        selected = context.selected_asset_keys
        # Both tables and the pollutant rows' uniqueness read it: the windows and sub-indices
        # are computed once.
        hours = hourly_frame(spark, start, end, aqi).persist()
        try:
            pending = []
            if FACT_POLLUTANT_HOURLY.key in selected:
                pending.append(pending_pollutant_rows(spark, hours, start, end, aqi))
            if FACT_HOURLY.key in selected:
                pending.append(pending_hourly(spark, hours, start, end))
            # Both tables' blocking checks pass before either commits: a failure of one leaves
            # both at their previous snapshot.
            yield from publish_together(spark, pending, context)
        finally:
            hours.unpersist()

    return hourly_facts
