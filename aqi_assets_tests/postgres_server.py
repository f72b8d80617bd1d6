"""PostgreSQL fixtures: one real server per test session, a fresh database per test.

The Dagster instance of these tests is the production one, `deploy/dagster-postgres.yaml`,
connected through the same environment variables the deployment sets.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from aqi_assets.dev.dagster_dev import PROJECT_ROOT, DagsterDev
from aqi_assets.dev.local_open_meteo import LocalOpenMeteo
from aqi_assets.dev.local_postgres import LocalPostgres
from aqi_assets_tests.conftest import RunningUI

POSTGRES_INSTANCE = PROJECT_ROOT / "deploy" / "dagster-postgres.yaml"
_database_ids = itertools.count()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[LocalPostgres]:
    """A PostgreSQL server (initdb + pg_ctl in a temporary folder) for the whole session."""
    with LocalPostgres() as server:
        yield server


@pytest.fixture
def postgres_env(postgres_server: LocalPostgres) -> dict[str, str]:
    """The DAGSTER_PG_* variables of a fresh, empty database for this test's instance."""
    database = postgres_server.create_database(f"dagster_{next(_database_ids)}")
    return postgres_server.env(database)


@pytest.fixture
def postgres_ui(
    tmp_path: Path, open_meteo_server: LocalOpenMeteo, postgres_env: dict[str, str]
) -> Iterator[RunningUI]:
    """`dagster dev` (UI + daemon) on the PostgreSQL instance, a scratch warehouse, local API."""
    warehouse = tmp_path / "ui-warehouse"
    env = {
        **postgres_env,
        "AQI_WAREHOUSE": warehouse.as_uri(),
        "AQI_OPEN_METEO_URL": open_meteo_server.base_url,
        "AQI_AUTOMATION": "off",
        "AQI_SPARK_UI": "off",
    }
    with DagsterDev(tmp_path, env, instance_config=POSTGRES_INSTANCE) as ui:
        yield RunningUI(ui.url, ui.home, warehouse)
