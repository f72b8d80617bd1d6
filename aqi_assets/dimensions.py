"""Gold dimensions: location, pollutant and hour-of-day from reference data; dates by partition."""

import dagster as dg

from aqi_assets import tables
from aqi_assets.partitions import BACKFILL_POLICY
from aqi_assets.pipeline_config import PipelineConfig
from aqi_assets.publish import publish_table, publish_window
from aqi_assets.tables import Layer
from aqi_assets.transforms import dims
from resources.spark import SparkIcebergResource

COMMON = {"group_name": Layer.GOLD.value, "kinds": {"spark", "iceberg"}}


@dg.asset(
    description="Monitored locations (key, name, coordinates) from the locations reference file.",
    metadata={"iceberg_table": str(tables.DIM_LOCATION)},
    pool="iceberg_dim_location",
    **COMMON,
)
def dim_location(spark: SparkIcebergResource, pipeline: PipelineConfig) -> dg.MaterializeResult:
    """Rebuild `gold.dim_location` from the current locations file."""
    df = dims.dim_location(spark.spark_session, pipeline.locations())
    return publish_table(spark, tables.DIM_LOCATION, df)


@dg.asset(
    description="Pollutants with name, unit and description from the pollutants reference file.",
    metadata={"iceberg_table": str(tables.DIM_POLLUTANT)},
    pool="iceberg_dim_pollutant",
    **COMMON,
)
def dim_pollutant(spark: SparkIcebergResource, pipeline: PipelineConfig) -> dg.MaterializeResult:
    """Rebuild `gold.dim_pollutant` from the current pollutants file."""
    df = dims.dim_pollutant(spark.spark_session, pipeline.pollutants())
    return publish_table(spark, tables.DIM_POLLUTANT, df)


@dg.asset(
    description="The 24 hours of a day with period (Night/Morning/Afternoon/Evening) and peak flag.",
    metadata={"iceberg_table": str(tables.DIM_TIME)},
    pool="iceberg_dim_time",
    **COMMON,
)
def dim_time(spark: SparkIcebergResource) -> dg.MaterializeResult:
    """Rebuild `gold.dim_time`."""
    return publish_table(spark, tables.DIM_TIME, dims.dim_time(spark.spark_session))


def build_dim_date(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """`dim_date`: one row per UTC day of the partitions written."""

    @dg.asset(
        name="dim_date",
        description="Calendar days: date_key, year, quarter, month, day, weekday, weekend flag.",
        metadata={"iceberg_table": str(tables.DIM_DATE)},
        partitions_def=partitions_def,
        backfill_policy=BACKFILL_POLICY,
        pool="iceberg_dim_date",
        **COMMON,
    )
    def dim_date(
        context: dg.AssetExecutionContext, spark: SparkIcebergResource
    ) -> dg.MaterializeResult:
        window = context.partition_time_window
        start, end = window.start.date(), window.end.date()
        df = dims.dim_date(spark.spark_session, start, end)
        return publish_window(spark, tables.DIM_DATE, df, "date_utc", start, end)

    return dim_date
