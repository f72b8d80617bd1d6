"""One switch (AQI_ENV) between environments: the resources each profile runs with."""

from __future__ import annotations

from typing import Any

import dagster as dg

from aqi_assets.catalog.pollutants import REQUESTED_VARIABLES
from aqi_assets.config.pipeline_config import PipelineConfig
from aqi_assets.config.settings import Profile, Settings
from resources.iceberg.lakehouse_reader import LakehouseReader
from resources.open_meteo.client import OpenMeteoResource
from resources.spark.spark_resource import SparkIcebergResource

API_KEY_ENV = "AQI_OPEN_METEO_API_KEY"
# Settings that may carry credentials reach the resources as dg.EnvVar: the UI's resource config
# shows the variable's name, and the run reads the value from its environment.
CATALOG_URI_ENV = "AQI_CATALOG_URI"
SPARK_CONF_ENV = "AQI_SPARK_CONF"


def spark_resource(settings: Settings, **overrides: Any) -> SparkIcebergResource:
    """Spark + Iceberg for the profile: embedded local[*], or YARN client mode on a cluster.

    `overrides` replace fields (a test's own `catalog_name` in a JVM other tests share).
    """
    sizing = settings.sizing
    common: dict[str, Any] = {
        "master": settings.spark_master,
        "warehouse": settings.warehouse,
        "catalog_type": settings.catalog_type,
        "catalog_uri": dg.EnvVar(CATALOG_URI_ENV) if settings.catalog_uri else None,
        "iceberg_jar": settings.iceberg_jar,
        "iceberg_packages": settings.iceberg_packages,
        "ui_enabled": settings.spark_ui,
        "spark_config_json": dg.EnvVar(SPARK_CONF_ENV) if settings.spark_conf else None,
        "class_archive": settings.jvm_archive,
        "short_run_max_days": settings.short_run_max_days,
    }
    common.update(overrides)
    if settings.profile is Profile.LOCAL:
        return SparkIcebergResource(**common, driver_memory=sizing.driver_memory)
    return SparkIcebergResource(
        **common,
        shuffle_partitions=sizing.shuffle_partitions,
        driver_memory=sizing.driver_memory,
        yarn_queue=sizing.yarn_queue,
        executor_memory=sizing.executor_memory,
        executor_cores=sizing.executor_cores,
        dynamic_allocation_min_executors=sizing.min_executors,
        dynamic_allocation_max_executors=sizing.max_executors,
        python_archive=sizing.python_archive,
    )


def lakehouse_reader(settings: Settings) -> LakehouseReader:
    """pyiceberg reading the tables through the configured catalog, as Spark writes them."""
    return LakehouseReader(
        warehouse=settings.warehouse,
        catalog_type=settings.catalog_type,
        catalog_uri=dg.EnvVar(CATALOG_URI_ENV) if settings.catalog_uri else None,
    )


def resources_for(settings: Settings) -> dict[str, Any]:
    """All resources of the code location for `settings.profile`."""
    return {
        "spark": spark_resource(settings),
        "open_meteo": OpenMeteoResource(
            base_url=settings.open_meteo_url,
            hourly_variables=list(REQUESTED_VARIABLES),
            api_key=dg.EnvVar(API_KEY_ENV) if settings.api_key_set else None,
            rate_limits=settings.api_budget.rate_limits,
            deadline_seconds=settings.api_budget.deadline_seconds,
            budget_reserve=settings.api_budget.reserve,
            ledger_path=settings.api_budget.ledger_path,
        ),
        "lakehouse": lakehouse_reader(settings),
        "pipeline": PipelineConfig(
            locations_path=settings.locations_path,
            pollutants_path=settings.pollutants_path,
            aqi_breakpoints=settings.aqi_breakpoints,
            episode_threshold=settings.episode_threshold,
            episode_min_hours=settings.episode_min_hours,
        ),
    }
