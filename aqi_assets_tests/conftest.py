"""Shared fixtures: one local SparkSession for the whole test session, fresh Iceberg catalogs per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import NamedTuple

import dagster as dg
import pytest
from pyspark.sql import SparkSession

from aqi_assets.config.pipeline_config import PipelineConfig
from aqi_assets.definitions import build_assets
from aqi_assets.dev.dagster_dev import DagsterDev
from aqi_assets.dev.local_open_meteo import LocalOpenMeteo
from aqi_assets.orchestration.automation import with_automation
from aqi_assets.orchestration.partitions import daily_partitions
from aqi_assets_tests.open_meteo_client import open_meteo_client
from resources.iceberg.lakehouse_reader import LakehouseReader
from resources.spark.spark_resource import SparkIcebergResource

pytest_plugins = ["aqi_assets_tests.postgres_server", "aqi_assets_tests.yarn_cluster"]
_catalog_ids = itertools.count()
UNIT_TESTS = Path(__file__).with_name("unit")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests under unit/ carry the `unit` marker: `./scripts/test -m unit` is the fast tier."""
    for item in items:
        if UNIT_TESTS in Path(item.path).parents:
            item.add_marker(pytest.mark.unit)


def make_spark_resource(
    warehouse: Path, catalog_name: str = "lh", **overrides
) -> SparkIcebergResource:
    """A test-sized local Spark resource on `warehouse` (UI off, few shuffle partitions)."""
    return SparkIcebergResource(
        warehouse=warehouse.as_uri(),
        catalog_name=catalog_name,
        master="local[2]",
        shuffle_partitions=2,
        ui_enabled=False,
        driver_memory="1g",
        **overrides,
    )


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """The one JVM of the test session; catalogs are registered per test on top of it.

    Its own catalog is a JDBC one: the JDBC drivers must be on the JVM's class path from its
    start for any test to register a JDBC catalog. A catalog is set up once per JVM and name, so
    `lh`, the code location's, is left to the one test that reads a JDBC catalog by it as
    docs/analysts.md does (integration/test_jdbc_catalog.py).
    """
    folder = tmp_path_factory.mktemp("session-warehouse")
    resource = make_spark_resource(
        folder, "session", catalog_type="jdbc", catalog_uri=f"jdbc:sqlite:{folder}/catalog.db"
    )
    session = resource.spark_session
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """An empty Iceberg warehouse folder for one test."""
    path = tmp_path / "warehouse"
    path.mkdir()
    return path


@pytest.fixture
def spark_resource(spark: SparkSession, warehouse: Path) -> SparkIcebergResource:
    """A Spark resource whose catalog (unique name) points at this test's empty warehouse."""
    return make_spark_resource(warehouse, catalog_name=f"t{next(_catalog_ids)}")


@pytest.fixture(scope="session")
def open_meteo_server() -> Iterator[LocalOpenMeteo]:
    """The local Open-Meteo server (deterministic data), shared by the session."""
    with LocalOpenMeteo() as server:
        yield server


@pytest.fixture
def pipeline_resources(
    spark_resource: SparkIcebergResource, warehouse: Path, open_meteo_server: LocalOpenMeteo
) -> dict[str, object]:
    """Every resource the assets need, pointing at this test's warehouse and the local server."""
    open_meteo_server.clear_faults()
    return {
        "spark": spark_resource,
        "open_meteo": open_meteo_client(base_url=open_meteo_server.base_url, backoff_factor=0.01),
        "lakehouse": LakehouseReader(warehouse=warehouse.as_uri()),
        "pipeline": PipelineConfig(),
    }


@pytest.fixture(scope="session")
def lakehouse_assets() -> list[dg.AssetsDefinition]:
    """The asset graph over daily partitions from 2024-01-01, with its automation conditions."""
    return with_automation(build_assets(daily_partitions(date(2024, 1, 1))))


class RunningUI(NamedTuple):
    """A running `dagster dev`: its URL, DAGSTER_HOME and Iceberg warehouse folder."""

    url: str
    home: Path
    warehouse: Path


@pytest.fixture
def dagster_ui(tmp_path: Path, open_meteo_server: LocalOpenMeteo) -> Iterator[RunningUI]:
    """`dagster dev` (UI + daemon) on a free port, a scratch warehouse and the local server."""
    warehouse = tmp_path / "ui-warehouse"
    env = {
        "AQI_WAREHOUSE": warehouse.as_uri(),
        "AQI_OPEN_METEO_URL": open_meteo_server.base_url,
        "AQI_AUTOMATION": "off",
        "AQI_SPARK_UI": "off",
    }
    with DagsterDev(tmp_path, env) as ui:
        yield RunningUI(ui.url, ui.home, warehouse)
