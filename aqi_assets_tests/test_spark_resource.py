"""The Spark resource: one code path, profile differences are configuration only."""

from __future__ import annotations

import pytest

from aqi_assets.profiles import spark_resource
from aqi_assets.settings import load_settings
from resources.spark import ICEBERG_JAR_NAME, SparkConfigError, SparkIcebergResource


def test_local_profile_uses_the_shipped_jar_and_hadoop_catalog(tmp_path) -> None:
    conf = spark_resource(load_settings({"AQI_WAREHOUSE": str(tmp_path)})).effective_conf()
    assert conf["spark.master"] == "local[*]"
    assert conf["spark.jars"].endswith(ICEBERG_JAR_NAME)
    assert conf["spark.sql.catalog.lh"] == "org.apache.iceberg.spark.SparkCatalog"
    assert conf["spark.sql.catalog.lh.type"] == "hadoop"
    assert conf["spark.sql.catalog.lh.warehouse"] == tmp_path.as_uri()
    assert conf["spark.sql.session.timeZone"] == "UTC"
    assert "IcebergSparkSessionExtensions" in conf["spark.sql.extensions"]


def test_local_driver_memory_is_configurable(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings({"AQI_WAREHOUSE": str(tmp_path)})
    assert spark_resource(settings).effective_conf()["spark.driver.memory"] == "2g"
    monkeypatch.setenv("AQI_DRIVER_MEMORY", "6g")
    assert spark_resource(settings).effective_conf()["spark.driver.memory"] == "6g"


def test_cluster_profile_is_yarn_client_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AQI_PYTHON_ARCHIVE", "hdfs:///envs/aqi.tar.gz#environment")
    monkeypatch.setenv("AQI_YARN_QUEUE", "etl")
    settings = load_settings(
        {
            "AQI_ENV": "cluster",
            "AQI_WAREHOUSE": "hdfs://nn:8020/lakehouse",
            "AQI_ICEBERG_PACKAGES": "org.apache.iceberg:iceberg-spark-runtime-3.5_2.12:1.10.2",
        }
    )
    conf = spark_resource(settings).effective_conf()
    assert conf["spark.master"] == "yarn"
    assert conf["spark.yarn.queue"] == "etl"
    assert conf["spark.dynamicAllocation.enabled"] == "true"
    assert conf["spark.dynamicAllocation.minExecutors"] == "1"
    assert conf["spark.dynamicAllocation.maxExecutors"] == "50"
    assert conf["spark.executor.memory"] == "4g"
    assert conf["spark.archives"] == "hdfs:///envs/aqi.tar.gz#environment"
    assert conf["spark.pyspark.python"] == "./environment/bin/python"
    assert conf["spark.jars.packages"].startswith(
        "org.apache.iceberg:iceberg-spark-runtime-3.5_2.12"
    )
    assert "spark.jars" not in conf
    assert conf["spark.sql.catalog.lh.warehouse"] == "hdfs://nn:8020/lakehouse"


def test_rest_catalog_needs_a_uri() -> None:
    with pytest.raises(SparkConfigError, match="needs catalog_uri"):
        SparkIcebergResource(warehouse="s3a://b/w", catalog_type="rest").effective_conf()
    conf = SparkIcebergResource(
        warehouse="s3a://b/w", catalog_type="rest", catalog_uri="http://cat:8181"
    ).effective_conf()
    assert conf["spark.sql.catalog.lh.type"] == "rest"
    assert conf["spark.sql.catalog.lh.uri"] == "http://cat:8181"


def test_raw_spark_config_wins() -> None:
    conf = SparkIcebergResource(
        warehouse="file:///w", spark_config={"spark.sql.shuffle.partitions": "7"}
    ).effective_conf()
    assert conf["spark.sql.shuffle.partitions"] == "7"
