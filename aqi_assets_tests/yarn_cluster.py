"""Fixtures of the `yarn` tests: one Hadoop test cluster (HDFS + YARN) for the session, and the
environment that points the code location's cluster profile (`AQI_ENV=cluster`) at it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from aqi_assets.dev.minicluster import MiniCluster


@pytest.fixture(scope="session")
def yarn_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MiniCluster]:
    """NameNode, DataNode, ResourceManager and one NodeManager on 127.0.0.1 for the session."""
    with MiniCluster(tmp_path_factory.mktemp("hadoop")) as cluster:
        yield cluster


def yarn_env(cluster: MiniCluster, warehouse: str, server_url: str, home: Path) -> dict[str, str]:
    """Environment of a Dagster process running the cluster profile on `cluster`."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        **cluster.profile_env(warehouse),
        "AQI_OPEN_METEO_URL": server_url,
        "AQI_AUTOMATION": "off",
        "AQI_SPARK_UI": "off",
        "DAGSTER_HOME": str(home),
    }
