"""Fixtures of the `yarn` tests: one Hadoop test cluster (HDFS + YARN) for the session, and the
environment that points the code location's cluster profile (`AQI_ENV=cluster`) at it."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pyspark
import pytest

from aqi_assets.dev.minicluster import MiniCluster
from resources.spark_conf import shipped_iceberg_jar

SPARK_JARS = Path(pyspark.__file__).parent / "jars"


@pytest.fixture(scope="session")
def yarn_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MiniCluster]:
    """NameNode, DataNode, ResourceManager and one NodeManager on 127.0.0.1 for the session."""
    with MiniCluster(tmp_path_factory.mktemp("hadoop")) as cluster:
        yield cluster


def yarn_env(cluster: MiniCluster, warehouse: str, server_url: str, home: Path) -> dict[str, str]:
    """Environment of a Dagster process running the cluster profile on `cluster`.

    Small containers (one 512 MB executor) so a run fits the 2-core test machine; Spark's and
    Iceberg's jars are read where they already are on the node (`local:`) instead of uploaded
    to HDFS by every run, as docs/deployment.md recommends.
    """
    home.mkdir(parents=True, exist_ok=True)
    spark_conf = {
        "spark.yarn.jars": f"local:{SPARK_JARS}/*",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
    }
    return {
        **os.environ,
        **cluster.env(),
        "AQI_ENV": "cluster",
        "AQI_WAREHOUSE": warehouse,
        "AQI_OPEN_METEO_URL": server_url,
        "AQI_AUTOMATION": "off",
        "AQI_SPARK_UI": "off",
        "AQI_YARN_QUEUE": "aqi",
        "AQI_DRIVER_MEMORY": "768m",
        "AQI_EXECUTOR_MEMORY": "512m",
        "AQI_EXECUTOR_CORES": "1",
        "AQI_MIN_EXECUTORS": "1",
        "AQI_MAX_EXECUTORS": "1",
        "AQI_SHUFFLE_PARTITIONS": "2",
        "AQI_ICEBERG_JAR": f"local:{shipped_iceberg_jar()}",
        "AQI_SPARK_CONF": json.dumps(spark_conf),
        "PYSPARK_PYTHON": sys.executable,
        "DAGSTER_HOME": str(home),
    }
