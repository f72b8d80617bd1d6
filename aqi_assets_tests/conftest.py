"""Shared fixtures: one local SparkSession for the whole test session, fresh Iceberg catalogs per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from resources.spark import SparkIcebergResource

_catalog_ids = itertools.count()


def make_spark_resource(warehouse: Path, catalog_name: str = "lh", **overrides) -> SparkIcebergResource:
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
    """The one JVM of the test session; catalogs are registered per test on top of it."""
    resource = make_spark_resource(tmp_path_factory.mktemp("session-warehouse"))
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
