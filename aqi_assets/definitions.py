"""The code location: every asset, check, automation and resource, for the AQI_ENV profile."""

from __future__ import annotations

import dagster as dg

from aqi_assets.alerts.alert_sensors import ALERTS_RESOURCE, build_alert_sensors
from aqi_assets.alerts.alert_settings import alert_channels
from aqi_assets.catalog.registry import TABLES
from aqi_assets.compat.threaded_executor_compat import threaded_in_process_executor
from aqi_assets.config.profiles import resources_for
from aqi_assets.config.reference import load_locations, load_pollutants
from aqi_assets.config.settings import Settings, check_warehouse_writable, load_settings
from aqi_assets.gold.city_daily_local import build_local_days
from aqi_assets.gold.city_facts import build_facts
from aqi_assets.gold.dimensions import build_dim_date, dim_location, dim_pollutant, dim_time
from aqi_assets.gold.hourly_facts import build_hourly_facts
from aqi_assets.ingest.aqi_forecast import fact_aqi_forecast
from aqi_assets.ingest.bronze_raw import build_bronze_raw
from aqi_assets.ingest.open_days_sensor import open_days_sensor
from aqi_assets.orchestration.automation import refresh_sensor, with_automation
from aqi_assets.orchestration.freshness import build_freshness_checks, with_freshness_policies
from aqi_assets.orchestration.jobs import lakehouse_job, refresh_job
from aqi_assets.orchestration.maintenance import iceberg_maintenance, maintenance_schedule
from aqi_assets.orchestration.partitions import daily_partitions
from aqi_assets.quality.declared_checks import validate_declarations
from aqi_assets.report.asset import air_quality_report
from aqi_assets.silver.silver_hourly import build_silver
from resources.iceberg.catalog_uri import check_catalog_uri
from resources.spark.spark_conf import require_java, require_spark_jars


def validate_environment(settings: Settings) -> None:
    """Fail before any work with one clear line: check declarations, reference files,
    warehouse, catalog URI, Java, the pinned jars."""
    validate_declarations(TABLES)
    load_locations(settings.locations_path)
    load_pollutants(settings.pollutants_path)
    check_warehouse_writable(settings.warehouse)
    check_catalog_uri(settings.catalog_type, settings.catalog_uri)
    if settings.spark_master.startswith(("local", "spark://")):
        require_java()
    require_spark_jars(settings.iceberg_jar, settings.iceberg_packages, settings.catalog_type)


def build_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """Every asset of the lakehouse, time-based ones over `partitions`."""
    return [
        build_bronze_raw(partitions),
        build_silver(partitions),
        dim_location,
        dim_pollutant,
        dim_time,
        build_dim_date(partitions),
        build_hourly_facts(partitions),
        *build_facts(partitions),
        build_local_days(partitions),
        fact_aqi_forecast,
        air_quality_report,
    ]


def build_definitions(settings: Settings) -> dg.Definitions:
    """All definitions for `settings`; tests build their own with other settings."""
    validate_environment(settings)
    alerts = alert_channels()
    assets = dg.with_source_code_references(
        with_freshness_policies(
            with_automation(build_assets(daily_partitions(settings.partitions_start)))
        )
    )
    return dg.Definitions(
        assets=assets,
        asset_checks=[
            *build_freshness_checks(),
            *dg.build_column_schema_change_checks(assets=assets),
        ],
        sensors=[
            refresh_sensor(settings.automation_on),
            open_days_sensor(settings.automation_on),
            *build_alert_sensors(settings.automation_on and alerts.configured),
        ],
        jobs=[lakehouse_job(), refresh_job(), iceberg_maintenance],
        schedules=[maintenance_schedule(settings.automation_on)],
        resources={**resources_for(settings), ALERTS_RESOURCE: alerts},
        executor=threaded_in_process_executor,
    )


defs = build_definitions(load_settings())
