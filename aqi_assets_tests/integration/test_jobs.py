"""The public `lakehouse` job the CLI launches: every registry table over the daily partitions."""

from __future__ import annotations

import dagster as dg
import pytest

from aqi_assets.catalog import registry
from aqi_assets.config.settings import load_settings
from aqi_assets.definitions import build_definitions
from aqi_assets.orchestration.jobs import LAKEHOUSE_JOB


@pytest.fixture(scope="module")
def defs(tmp_path_factory: pytest.TempPathFactory) -> dg.Definitions:
    warehouse = tmp_path_factory.mktemp("jobs-warehouse")
    return build_definitions(load_settings({"AQI_WAREHOUSE": warehouse.as_uri()}))


def test_the_job_covers_every_table_of_the_registry(defs: dg.Definitions) -> None:
    job = defs.resolve_job_def(LAKEHOUSE_JOB)
    assert job.asset_layer.executable_asset_keys == {spec.key for spec in registry.TABLES}


def test_the_job_is_partitioned_by_the_assets_daily_partitions(defs: dg.Definitions) -> None:
    job = defs.resolve_job_def(LAKEHOUSE_JOB)
    bronze = defs.resolve_assets_def(registry.BRONZE_RAW.key)
    assert job.partitions_def == bronze.partitions_def
    assert isinstance(job.partitions_def, dg.DailyPartitionsDefinition)


def test_the_job_runs_the_checks_of_its_tables(defs: dg.Definitions) -> None:
    job = defs.resolve_job_def(LAKEHOUSE_JOB)
    declared = {
        dg.AssetCheckKey(spec.key, decl.name.value)
        for spec in registry.TABLES
        for decl in spec.checks
    }
    assert declared <= set(job.asset_layer.asset_graph.asset_check_keys)
