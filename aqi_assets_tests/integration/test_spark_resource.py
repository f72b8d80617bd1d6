"""The Spark resource: one code path, profile differences are configuration only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from aqi_assets.config.profiles import spark_resource
from aqi_assets.config.settings import load_settings
from resources.spark.run_tags import PARTITION_TAG, RANGE_END_TAG, RANGE_START_TAG, run_days
from resources.spark.spark_conf import (
    COMPILE_GENERATED_CODE,
    DRIVER_JAVA_OPTIONS,
    EXECUTOR_JAVA_OPTIONS,
    ICEBERG_JAR_NAME,
    LOCAL_DRIVER_MEMORY,
    SHORT_RUN_CONF,
    SparkConfigError,
    build_spark_conf,
)
from resources.spark.spark_resource import SparkIcebergResource

ROOT = Path(__file__).resolve().parents[2]


def test_local_profile_uses_the_shipped_jar_and_hadoop_catalog(tmp_path) -> None:
    conf = spark_resource(load_settings({"AQI_WAREHOUSE": str(tmp_path)})).effective_conf()
    assert conf["spark.master"] == "local[*]"
    # On the driver's own class path, where its class archive can hold Iceberg's classes; the
    # executors run in the driver's JVM, so they need no copy of their own.
    assert conf["spark.driver.extraClassPath"].endswith(ICEBERG_JAR_NAME)
    assert "spark.jars" not in conf
    assert conf["spark.sql.catalog.lh"] == "org.apache.iceberg.spark.SparkCatalog"
    assert conf["spark.sql.catalog.lh.type"] == "hadoop"
    assert conf["spark.sql.catalog.lh.warehouse"] == tmp_path.as_uri()
    assert conf["spark.sql.session.timeZone"] == "UTC"
    assert "IcebergSparkSessionExtensions" in conf["spark.sql.extensions"]


def test_only_a_local_path_jar_goes_on_the_driver_class_path() -> None:
    def driver_entry(jar: str) -> str | None:
        resource = SparkIcebergResource(warehouse="file:///w", iceberg_jar=jar)
        return build_spark_conf(resource).get("spark.driver.extraClassPath")

    assert driver_entry("/opt/iceberg.jar") == "/opt/iceberg.jar"
    assert driver_entry("file:/opt/iceberg.jar") == "/opt/iceberg.jar"
    # On every node but not necessarily on the driver's host, or remote: spark.jars alone.
    assert driver_entry("local:/opt/iceberg.jar") is None
    assert driver_entry("hdfs://nn:8020/jars/iceberg.jar") is None


@pytest.mark.parametrize(
    ("master", "shipped"),
    [
        ("local", False),
        ("local[2]", False),
        ("local[*, 3]", False),
        ("local[4 ,2]", False),
        ("local-cluster[2,1,1024]", True),
        ("spark://host:7077", True),
        ("yarn", True),
    ],
)
def test_executors_outside_the_driver_get_their_own_copy_of_the_jar(
    master: str, shipped: bool
) -> None:
    conf = SparkIcebergResource(warehouse="file:///w", master=master).effective_conf()
    assert ("spark.jars" in conf) is shipped
    assert conf["spark.driver.extraClassPath"].endswith(ICEBERG_JAR_NAME)
    # Executors in JVMs of their own compile Spark's generated code too; a user's options stay.
    assert (EXECUTOR_JAVA_OPTIONS in conf) is shipped
    mine = SparkIcebergResource(
        warehouse="file:///w", master=master, spark_config={EXECUTOR_JAVA_OPTIONS: "-Dmine=1"}
    ).effective_conf()[EXECUTOR_JAVA_OPTIONS]
    assert mine == (f"{COMPILE_GENERATED_CODE} -Dmine=1" if shipped else "-Dmine=1")


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc (Linux)")
def test_the_driver_jvm_compiles_spark_generated_methods_of_any_size(spark) -> None:
    """HotSpot interprets methods over 8,000 bytes of bytecode by default, and Spark generates
    larger ones (the sub-indices' projection): the driver JVM of a long run is started with
    the flag that compiles them."""
    children = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()
    command_lines = [Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") for pid in children]
    drivers = [line for line in command_lines if b"org.apache.spark.deploy.SparkSubmit" in line]
    assert drivers, "the test session's driver JVM is not a child of this process"
    assert any(COMPILE_GENERATED_CODE.encode() in arg for arg in drivers[0])


def test_a_local_run_copies_no_jar_under_the_temp_dir(tmp_path) -> None:
    # A killed driver leaves its temp dir behind, and with it any copy of the jar.
    local_dir = tmp_path / "spark-local"
    code = f"""
import os
from resources.spark.spark_resource import SparkIcebergResource

spark = SparkIcebergResource(
    warehouse={(tmp_path / "wh").as_uri()!r},
    ui_enabled=False,
    spark_config={{"spark.local.dir": {str(local_dir)!r}}},
).spark_session
spark.sql("CREATE TABLE lh.t.x (a INT) USING iceberg")
spark.sql("INSERT INTO lh.t.x VALUES (1)")
print("rows", spark.table("lh.t.x").count())
for root, _, files in os.walk({str(local_dir)!r}):
    for name in files:
        print("file", name, os.path.getsize(os.path.join(root, name)))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert "rows 1" in done.stdout, done.stderr[-2000:]
    assert ICEBERG_JAR_NAME not in done.stdout, done.stdout


def test_local_driver_memory_is_configurable(tmp_path) -> None:
    settings = load_settings({"AQI_WAREHOUSE": str(tmp_path)})
    assert spark_resource(settings).effective_conf()["spark.driver.memory"] == LOCAL_DRIVER_MEMORY
    settings = load_settings({"AQI_WAREHOUSE": str(tmp_path), "AQI_DRIVER_MEMORY": "6g"})
    assert spark_resource(settings).effective_conf()["spark.driver.memory"] == "6g"


def test_cluster_profile_is_yarn_client_mode() -> None:
    settings = load_settings(
        {
            "AQI_PYTHON_ARCHIVE": "hdfs:///envs/aqi.tar.gz#environment",
            "AQI_YARN_QUEUE": "etl",
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


@pytest.mark.parametrize(
    ("tags", "days"),
    [
        ({PARTITION_TAG: "2025-10-16"}, 1),
        ({RANGE_START_TAG: "2024-01-01", RANGE_END_TAG: "2025-10-16"}, 655),
        ({RANGE_START_TAG: "2024-01-01"}, None),
        ({PARTITION_TAG: "hanoi"}, None),
        ({}, None),
    ],
)
def test_days_a_run_covers_come_from_its_partition_tags(tags: dict, days: int | None) -> None:
    assert run_days(tags) == days


DAYS = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-03-01")


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def driver_conf(spark: SparkIcebergResource) -> dg.MaterializeResult:
    """Reports the configuration the run's driver would start with (no JVM is started)."""
    conf = spark.effective_conf()
    return dg.MaterializeResult(
        metadata={key: conf.get(key, "") for key in (DRIVER_JAVA_OPTIONS, *SHORT_RUN_CONF)}
    )


def driver_conf_of_run(spark: SparkIcebergResource, **run: object) -> dict:
    result = dg.materialize([driver_conf], resources={"spark": spark}, **run)
    event = result.get_asset_materialization_events()[0]
    return {key: value.value for key, value in event.materialization.metadata.items()}


def test_a_run_of_a_few_days_starts_a_driver_tuned_for_short_work() -> None:
    spark = SparkIcebergResource(warehouse="file:///w", start_with_run=False)
    hourly = driver_conf_of_run(spark, partition_key="2024-02-10")
    assert "-XX:TieredStopAtLevel=1" in hourly[DRIVER_JAVA_OPTIONS]
    assert hourly["spark.sql.codegen.wholeStage"] == "false"
    assert hourly["spark.sql.adaptive.enabled"] == "false"
    month = driver_conf_of_run(
        spark, tags={RANGE_START_TAG: "2024-01-01", RANGE_END_TAG: "2024-01-31"}
    )
    assert "TieredStopAtLevel" not in month[DRIVER_JAVA_OPTIONS]
    assert COMPILE_GENERATED_CODE in month[DRIVER_JAVA_OPTIONS]
    assert COMPILE_GENERATED_CODE not in hourly[DRIVER_JAVA_OPTIONS]
    assert "-XX:+UseParallelGC" in hourly[DRIVER_JAVA_OPTIONS]
    assert "-XX:+UseParallelGC" in month[DRIVER_JAVA_OPTIONS]
    assert month["spark.sql.codegen.wholeStage"] == "true"
    assert month["spark.sql.adaptive.enabled"] == "true"


def test_short_run_tuning_can_be_turned_off_or_overridden(tmp_path) -> None:
    settings = load_settings({"AQI_WAREHOUSE": str(tmp_path), "AQI_SHORT_RUN_MAX_DAYS": "0"})
    assert spark_resource(settings).short_run_max_days == 0
    off = SparkIcebergResource(warehouse="file:///w", short_run_max_days=0, start_with_run=False)
    assert (
        "TieredStopAtLevel"
        not in driver_conf_of_run(off, partition_key="2024-02-10")[DRIVER_JAVA_OPTIONS]
    )
    mine = SparkIcebergResource(
        warehouse="file:///w",
        start_with_run=False,
        spark_config={
            "spark.sql.codegen.wholeStage": "true",
            DRIVER_JAVA_OPTIONS: "-XX:TieredStopAtLevel=4",
        },
    )
    conf = driver_conf_of_run(mine, partition_key="2024-02-10")
    assert conf["spark.sql.codegen.wholeStage"] == "true"
    # The JVM takes the last of repeated flags: the user's comes after ours.
    assert conf[DRIVER_JAVA_OPTIONS].endswith("-XX:TieredStopAtLevel=4")
    # A collector of the user's replaces ours (two would stop the JVM from starting).
    g1 = SparkIcebergResource(
        warehouse="file:///w", spark_config={DRIVER_JAVA_OPTIONS: "-XX:+UseG1GC"}
    )
    for short_run in (True, False):
        options = build_spark_conf(g1, short_run)[DRIVER_JAVA_OPTIONS]
        assert "ParallelGC" not in options
        assert options.endswith("-XX:+UseG1GC")


@dg.asset
def uses_spark(spark: SparkIcebergResource) -> None:
    spark.spark_session.range(1).count()


def test_a_driver_that_cannot_start_in_the_background_fails_the_step_that_uses_it() -> None:
    broken = SparkIcebergResource(warehouse="s3a://b/w", catalog_type="rest")
    with pytest.raises(SparkConfigError, match="catalog_type=rest needs catalog_uri"):
        dg.materialize([uses_spark], resources={"spark": broken})


def test_pyspark_functions_resolve_without_trying_every_wildcard_import(tmp_path) -> None:
    # py4j resolves PySpark's `functions` (once per F.* call) against each wildcard import in
    # turn; every miss is a failed class lookup over the driver's whole class path.
    log = tmp_path / "exceptions.log"
    code = f"""
from pathlib import Path
from pyspark.sql import functions as F
from resources.spark.spark_resource import SparkIcebergResource
from resources.spark.spark_conf import DRIVER_JAVA_OPTIONS

log = Path({str(log)!r})
SparkIcebergResource(
    warehouse={(tmp_path / "wh").as_uri()!r},
    ui_enabled=False,
    spark_config={{DRIVER_JAVA_OPTIONS: "-Xlog:exceptions=info:file={log}"}},
).spark_session
before = log.read_text().count("org.apache.spark.api.java.functions")
for i in range(20):
    F.col(f"c{{i}}")
print("misses", log.read_text().count("org.apache.spark.api.java.functions") - before)
"""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert "misses 0" in done.stdout, (done.stdout, done.stderr[-2000:])
