"""Iceberg table maintenance: compact small files, expire old snapshots, rewrite manifests.

Hourly refreshes add a snapshot and small files per table every hour; without maintenance reads
slow down over months. A daily job compacts and expires each table inside that table's pool,
so it never races a writer of the same table.
"""

from datetime import timedelta

import dagster as dg

from aqi_assets.catalog.registry import TableSpec, tables_where
from aqi_assets.quality.metadata import utc_now
from resources.spark.spark_resource import SparkIcebergResource

MAINTENANCE_CRON = "30 3 * * *"


class MaintenanceConfig(dg.Config):
    """How much history to keep and when a file counts as small."""

    keep_snapshots_days: int = 7
    retain_last: int = 24
    target_file_size_mb: int = 128
    min_input_files: int = 5


def table_stats(spark: SparkIcebergResource, name: str) -> dict[str, int]:
    """Data files, total bytes and snapshots of a table (metadata tables, no data scan)."""
    session = spark.spark_session
    files = session.sql(
        f"SELECT count(*) AS n, coalesce(sum(file_size_in_bytes), 0) AS b FROM {name}.files"
    ).first()
    snapshots = session.sql(f"SELECT count(*) AS n FROM {name}.snapshots").first()
    return {"data_files": files["n"], "data_bytes": files["b"], "snapshots": snapshots["n"]}


def maintain(
    spark: SparkIcebergResource, table: TableSpec, config: MaintenanceConfig
) -> dict[str, int]:
    """Compact files, rewrite manifests, then expire old snapshots; returns before/after figures."""
    name = spark.table(*table.table)
    session = spark.spark_session
    before = table_stats(spark, name)
    catalog, identifier = spark.catalog_name, str(table.table)
    session.sql(
        f"CALL {catalog}.system.rewrite_data_files(table => '{identifier}', options => map("
        f"'min-input-files', '{config.min_input_files}', "
        f"'target-file-size-bytes', '{config.target_file_size_mb * 1024 * 1024}'))"
    ).collect()
    session.sql(f"CALL {catalog}.system.rewrite_manifests(table => '{identifier}')").collect()
    # To the microsecond: a snapshot committed within the current second is older than now too.
    older_than = (utc_now() - timedelta(days=config.keep_snapshots_days)).strftime(
        "%Y-%m-%d %H:%M:%S.%f"
    )
    session.sql(
        f"CALL {catalog}.system.expire_snapshots(table => '{identifier}', "
        f"older_than => TIMESTAMP '{older_than}', retain_last => {config.retain_last})"
    ).collect()
    after = table_stats(spark, name)
    return {
        **{f"{k}_before": v for k, v in before.items()},
        **{f"{k}_after": v for k, v in after.items()},
    }


def maintenance_op(table: TableSpec) -> dg.OpDefinition:
    """The op that maintains `table` inside the table's pool, observing its asset."""

    @dg.op(name=f"maintain_{table.asset}", pool=table.pool, ins={"after": dg.In(dg.Nothing)})
    def maintain_table(
        context: dg.OpExecutionContext, spark: SparkIcebergResource, config: MaintenanceConfig
    ) -> None:
        if not spark.spark_session.catalog.tableExists(spark.table(*table.table)):
            context.log.info(f"{table.table} does not exist yet; nothing to maintain")
            return
        figures = maintain(spark, table, config)
        context.log_event(dg.AssetObservation(asset_key=table.key, metadata=figures))

    return maintain_table


@dg.graph
def all_maintained_tables() -> None:
    """Every maintained table of the registry, one after the other."""
    previous = None
    for table in tables_where(maintained=True):
        op = maintenance_op(table)
        previous = op(previous) if previous is not None else op()


iceberg_maintenance = all_maintained_tables.to_job(
    name="iceberg_maintenance",
    description="Compacts small files, expires snapshots older than the retention, rewrites manifests.",
    executor_def=dg.in_process_executor,
)


def maintenance_schedule(running: bool) -> dg.ScheduleDefinition:
    """Daily maintenance at 03:30 UTC; running by default unless AQI_AUTOMATION=off."""
    return dg.ScheduleDefinition(
        job=iceberg_maintenance,
        cron_schedule=MAINTENANCE_CRON,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING
        if running
        else dg.DefaultScheduleStatus.STOPPED,
    )
