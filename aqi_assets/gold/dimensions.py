"""Gold dimensions: location, pollutant and hour-of-day from reference data; dates by partition."""

import dagster as dg

from aqi_assets.catalog.registry import DIM_DATE, DIM_LOCATION, DIM_POLLUTANT, DIM_TIME, asset_args
from aqi_assets.config.pipeline_config import PipelineConfig
from aqi_assets.quality.publish import publish_table, publish_window
from aqi_assets.transforms import dims
from resources.spark.spark_resource import SparkIcebergResource


@dg.asset(
    description="Monitored locations (key, name, coordinates) from the locations reference file.",
    **asset_args(DIM_LOCATION),
)
def dim_location(spark: SparkIcebergResource, pipeline: PipelineConfig) -> dg.MaterializeResult:
    """Rebuild `gold.dim_location` from the current locations file."""
    df = dims.dim_location(spark.spark_session, pipeline.locations())
    return publish_table(spark, DIM_LOCATION, df)


@dg.asset(
    description="Pollutants with name, unit and description from the pollutants reference file.",
    **asset_args(DIM_POLLUTANT),
)
def dim_pollutant(spark: SparkIcebergResource, pipeline: PipelineConfig) -> dg.MaterializeResult:
    """Rebuild `gold.dim_pollutant` from the current pollutants file."""
    df = dims.dim_pollutant(spark.spark_session, pipeline.pollutants())
    return publish_table(spark, DIM_POLLUTANT, df)


@dg.asset(
    description="The 24 hours of a day with period (Night/Morning/Afternoon/Evening) and peak flag.",
    **asset_args(DIM_TIME),
)
def dim_time(spark: SparkIcebergResource) -> dg.MaterializeResult:
    """Rebuild `gold.dim_time`."""
    return publish_table(spark, DIM_TIME, dims.dim_time(spark.spark_session))


def build_dim_date(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """`dim_date`: one row per UTC day of the partitions written."""

    @dg.asset(
        description="Calendar days: date_key, year, quarter, month, day, weekday, weekend flag.",
        **asset_args(DIM_DATE, partitions_def),
    )
    def dim_date(
        context: dg.AssetExecutionContext, spark: SparkIcebergResource
    ) -> dg.MaterializeResult:
        window = context.partition_time_window
        start, end = window.start.date(), window.end.date()
        df = dims.dim_date(spark.spark_session, start, end)
        return publish_window(spark, DIM_DATE, df, start, end, context=context)

    return dim_date
