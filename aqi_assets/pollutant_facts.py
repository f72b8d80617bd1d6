"""`fact_pollutant_hourly`: one row per location, hour and pollutant, with both agencies' sub-indices."""

from datetime import datetime, timedelta

import dagster as dg
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from aqi_assets import checks
from aqi_assets.facts import read
from aqi_assets.pipeline_config import PipelineConfig
from aqi_assets.publish import Audit, gated, publish_window
from aqi_assets.registry import (
    DIM_LOCATION,
    DIM_POLLUTANT,
    FACT_POLLUTANT_HOURLY,
    SILVER_HOURLY,
    Check,
    asset_args,
)
from aqi_assets.transforms.agency import LOOKBACK_HOURS, indexed_hours, pollutant_rows
from aqi_assets.transforms.aqi import AqiTable
from aqi_assets.transforms.breakpoints import EPA_PM25
from aqi_assets.transforms.fetch_flags import carried_flags
from resources.iceberg_writes import window_condition
from resources.spark import SparkIcebergResource


def silver_with_indices(
    spark: SparkIcebergResource, start: datetime, end: datetime, aqi_table: AqiTable
) -> DataFrame:
    """Silver hours of [start, end) with every pollutant's averages and sub-indices.

    Reads the LOOKBACK_HOURS before `start` for the 24-hour and 8-hour means, then drops them.
    """
    since = start - timedelta(hours=LOOKBACK_HOURS)
    silver = read(spark, SILVER_HOURLY).where(
        window_condition(SILVER_HOURLY.window_column, since, end)
    )
    indexed = indexed_hours(silver, EPA_PM25[aqi_table])
    return indexed.where(indexed["ts_utc"] >= start)


def build_pollutant_facts(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The per-pollutant fact over `partitions_def`."""

    @dg.asset(
        deps=[SILVER_HOURLY.key, DIM_LOCATION.key, DIM_POLLUTANT.key],
        description=(
            "Per location, UTC hour and pollutant (PM2.5, PM10, O3, NO2, SO2, CO; keys of "
            "dim_pollutant): the hourly concentration and its unit, the EPA averaging period, "
            "the averaged concentration truncated in the EPA table's unit (ppm, ppb or µg/m³, "
            "25 °C conversions), `epa_sub_index` (EPA TAD 2024) and `vn_sub_index` (hourly "
            "VN_AQI, Decision 1459/QĐ-TCMT)."
        ),
        **asset_args(FACT_POLLUTANT_HOURLY, partitions_def),
    )
    @gated
    def fact_pollutant_hourly(
        context: dg.AssetExecutionContext, spark: SparkIcebergResource, pipeline: PipelineConfig
    ) -> dg.MaterializeResult:
        start, end = context.partition_time_window
        aqi_table = AqiTable(pipeline.aqi_breakpoints)
        indexed = silver_with_indices(spark, start, end, aqi_table)
        flags = tuple(c for c in ("is_forecast",) if c in indexed.columns)
        rows = pollutant_rows(indexed, EPA_PM25[aqi_table], flags)
        pollutants = read(spark, DIM_POLLUTANT).select("pollutant_key", "unit")
        df = rows.join(F.broadcast(pollutants), "pollutant_key", "left").select(
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
            *carried_flags(rows)[:1],
        )
        audit = Audit(
            table=FACT_POLLUTANT_HOURLY,
            blocking=[
                checks.unique(*FACT_POLLUTANT_HOURLY.keys),
                checks.not_null(*FACT_POLLUTANT_HOURLY.keys),
                checks.in_dimension(Check.LOCATION_FK, "location_key", read(spark, DIM_LOCATION)),
                checks.in_dimension(Check.POLLUTANT_FK, "pollutant_key", pollutants),
            ],
            warnings=lambda write, _: [checks.row_count_drop(FACT_POLLUTANT_HOURLY, write)],
        )
        return publish_window(spark, FACT_POLLUTANT_HOURLY, df, start, end, audit=audit)

    return fact_pollutant_hourly
