"""Spark configuration of the lakehouse: Java checks, the Iceberg runtime, and the properties
each profile starts its driver with (pure functions, no JVM)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from enum import StrEnum
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from dagster import EnvVar

from resources.spark.jar_pins import ICEBERG_RUNTIME, JDBC_DRIVERS, JarError, JarPin, pinned_jar

if TYPE_CHECKING:
    from resources.spark.spark_resource import SparkIcebergResource

ICEBERG_JAR_NAME = ICEBERG_RUNTIME.file_name
ICEBERG_EXTENSIONS = "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
DRIVER_JAVA_OPTIONS = "spark.driver.extraJavaOptions"
# In local mode the driver is the executor too: a heap where the windows' sorts and the cached
# frames of a 100-location backfill fit without spilling (docs/performance.md).
LOCAL_DRIVER_MEMORY = "1536m"
MIN_JAVA_MAJOR = 17
SQLITE_BUSY_TIMEOUT_MS = 60_000
# Every run is batch work: the throughput collector suits a small driver better than G1 (no
# remembered sets), and its young collections use both cores where the serial one stops all.
DRIVER_COLLECTOR = "-XX:+UseParallelGC"
# A run of a few days is over before Spark's warm-up pays off: a fresh driver would spend most of
# it in the optimizing JIT, code generation and adaptive re-planning for a few hundred rows.
# Large runs need all three (docs/performance.md). Both profiles set the same SQL keys, so a
# reused session switches cleanly.
SHORT_RUN_JAVA_OPTIONS = ("-XX:TieredStopAtLevel=1", DRIVER_COLLECTOR)
# Whole-stage code generation writes methods of up to 64 KB of bytecode, but HotSpot leaves every
# method over 8,000 bytes to its interpreter: the sub-indices' projection is one, and ran
# interpreted. Short runs generate no such code (expressions are interpreted by Spark).
COMPILE_GENERATED_CODE = "-XX:-DontCompileHugeMethods"
LONG_RUN_JAVA_OPTIONS = (DRIVER_COLLECTOR, COMPILE_GENERATED_CODE)
EXECUTOR_JAVA_OPTIONS = "spark.executor.extraJavaOptions"
GC_FLAG = re.compile(r"-XX:\+Use\w*GC\b")
URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
IN_PROCESS_MASTER = re.compile(r"local(\[\s*(\*|\d+)(\s*,\s*\d+)?\s*\])?")  # not local-cluster[...]
SHORT_RUN_CONF = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.sql.adaptive.enabled": "false",
}
LONG_RUN_CONF = {
    "spark.sql.codegen.wholeStage": "true",
    "spark.sql.codegen.factoryMode": "FALLBACK",
    "spark.sql.adaptive.enabled": "true",
}


class SparkConfigError(RuntimeError):
    """The Spark / Iceberg configuration cannot work; the message says what to change."""


class CatalogType(StrEnum):
    """Iceberg catalog implementations supported by `SparkIcebergResource`."""

    HADOOP = "hadoop"
    JDBC = "jdbc"
    REST = "rest"
    HIVE = "hive"


def fetched_jar(pin: JarPin) -> str:
    """The checked copy of `pin` fetched into the project folder (resources/spark/jar_pins.py)."""
    try:
        return str(pinned_jar(pin))
    except JarError as exc:
        raise SparkConfigError(str(exc)) from None


def pinned_iceberg_jar() -> str:
    """The Iceberg Spark runtime jar fetched by its pinned Maven coordinates."""
    return fetched_jar(ICEBERG_RUNTIME)


def iceberg_runtime_jar(configured: str | None) -> str:
    """The Iceberg runtime jar the driver and executors load: the configured one, else the pinned."""
    return configured or pinned_iceberg_jar()


def require_spark_jars(configured: str | None, packages: str | None, catalog_type: str) -> None:
    """Fail with what to run when a jar the driver will load is missing or damaged."""
    if not (configured or packages):
        pinned_iceberg_jar()
    if catalog_type == CatalogType.JDBC:
        for pin in JDBC_DRIVERS:
            fetched_jar(pin)


def driver_jars(
    iceberg_jar: str | None, catalog_type: str, packages: str | None = None
) -> list[str]:
    """The jars a driver loads: the Iceberg runtime (unless resolved from `packages`) and, for a
    JDBC catalog, the JDBC drivers; their class path entries key its class archive too."""
    jars = [] if packages else [iceberg_runtime_jar(iceberg_jar)]
    if catalog_type == CatalogType.JDBC:
        jars += [fetched_jar(pin) for pin in JDBC_DRIVERS]
    return jars


def driver_class_path(jar: str) -> list[str]:
    """`jar` as an entry of the driver's own class path: plain and file: paths only.

    A jar behind another scheme (local: on every node, hdfs:) stays with spark.jars alone.
    """
    if jar.startswith("file:"):
        return [urlparse(jar).path]
    return [] if URI_SCHEME.match(jar) else [jar]


def runs_executors_in_driver(master: str) -> bool:
    """Whether `master` runs its executors inside the driver's JVM (local, local[N], local[*])."""
    return IN_PROCESS_MASTER.fullmatch(master) is not None


def java_version_text() -> tuple[str, str]:
    """The Java Spark will use ($JAVA_HOME/bin/java, else `java` on PATH) and its `-version` text."""
    java_home = os.environ.get("JAVA_HOME")
    executable = (
        shutil.which(os.path.join(java_home, "bin", "java")) if java_home else shutil.which("java")
    )
    if executable is None:
        raise SparkConfigError(
            f"Java {MIN_JAVA_MAJOR} is required by Spark but `java` is not on PATH. "
            "Install a JDK 17 (e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME."
        )
    out = subprocess.run(
        [executable, "-version"], capture_output=True, text=True, check=False
    ).stderr
    return executable, out


def java_major_version() -> int:
    """Major version of the Java Spark will use ($JAVA_HOME/bin/java, else `java` on PATH)."""
    executable, out = java_version_text()
    for token in out.replace('"', " ").split():
        head = token.split(".")[0]
        if head.isdigit() and "." in token:
            major = int(head)
            return int(token.split(".")[1]) if major == 1 else major
    raise SparkConfigError(
        f"Cannot read the Java version from `{executable} -version`: {out[:200]}"
    )


def require_java() -> None:
    """Fail with one clear line when Java is missing or older than 17."""
    major = java_major_version()
    if major < MIN_JAVA_MAJOR:
        raise SparkConfigError(
            f"Spark 3.5 here needs Java {MIN_JAVA_MAJOR}+, found Java {major}. Install JDK 17 or set JAVA_HOME."
        )


def iceberg_jar_conf(res: SparkIcebergResource) -> dict[str, str]:
    """Where the driver and the executors find the Iceberg runtime (packages, or a jar) and,
    for a JDBC catalog only, the JDBC drivers."""
    conf: dict[str, str] = {}
    if res.iceberg_packages:
        conf["spark.jars.packages"] = res.iceberg_packages
    jars = driver_jars(res.iceberg_jar, res.catalog_type, res.iceberg_packages)
    # Classes on the driver's own class path can come from its class archive (jvm_archive.py),
    # and java.sql.DriverManager finds only drivers there.
    if class_path := [entry for jar in jars for entry in driver_class_path(jar)]:
        conf["spark.driver.extraClassPath"] = os.pathsep.join(class_path)
    # Executors in their own JVMs need a copy. In-process ones share the driver's class path; a
    # copy would land under the driver's temp dir each run, and a kill leaves it.
    in_process = runs_executors_in_driver(res.master)
    if shipped := [jar for jar in jars if not (driver_class_path(jar) and in_process)]:
        conf["spark.jars"] = ",".join(shipped)
    return conf


def catalog_conf(res: SparkIcebergResource) -> dict[str, str]:
    """The Iceberg catalog's properties: its kind, warehouse and (unless Hadoop) its URI."""
    catalog = f"spark.sql.catalog.{res.catalog_name}"
    conf = {catalog: "org.apache.iceberg.spark.SparkCatalog", f"{catalog}.warehouse": res.warehouse}
    if res.catalog_type is CatalogType.JDBC:
        conf[f"{catalog}.catalog-impl"] = "org.apache.iceberg.jdbc.JdbcCatalog"
    else:
        conf[f"{catalog}.type"] = res.catalog_type.value
    if res.catalog_type is CatalogType.HADOOP:
        return conf
    if not res.catalog_uri:
        raise SparkConfigError(
            f"catalog_type={res.catalog_type.value} needs catalog_uri (set AQI_CATALOG_URI)."
        )
    conf[f"{catalog}.uri"] = resolved(res.catalog_uri)
    if res.catalog_type is CatalogType.JDBC:
        conf.update(jdbc_catalog_conf(catalog, conf[f"{catalog}.uri"]))
    return conf


def jdbc_catalog_conf(catalog: str, uri: str) -> dict[str, str]:
    """Properties of a JdbcCatalog on `uri` beyond the URI itself."""
    if not uri.startswith("jdbc:sqlite:"):
        # V1: the schema pyiceberg's SQL catalog creates and reads (with views); under V0
        # Iceberg warns at every start.
        return {f"{catalog}.jdbc.schema-version": "V1"}
    # Iceberg 1.10's catalog start leaves a metadata query open when the catalog's tables exist
    # (and, under V1, when they have the iceberg_type column): on SQLite that open read holds a
    # lock for the JVM's life, and every other connection's commit waits on it. So the tables
    # are created beforehand (catalog_uri.prepare_sqlite_catalog), in the V0 schema, and the
    # catalog neither creates nor upgrades them. A commit waits for another process's commit
    # instead of failing at sqlite-jdbc's 3 s default.
    return {
        f"{catalog}.jdbc.init-catalog-tables": "false",
        f"{catalog}.jdbc.busy_timeout": str(SQLITE_BUSY_TIMEOUT_MS),
    }


def resolved(value: str) -> str:
    """`value`, read from its environment variable when it is a `dg.EnvVar`.

    Dagster resolves an EnvVar field when it builds the resource for a run; a resource built
    directly (a notebook, a script, docs/analysts.md) still holds the EnvVar itself.
    """
    return value.get_value() or "" if isinstance(value, EnvVar) else value


def build_spark_conf(res: SparkIcebergResource, short_run: bool = False) -> dict[str, str]:
    """Translate the resource's typed fields into Spark properties (pure, no JVM)."""
    conf: dict[str, str] = {
        "spark.master": res.master,
        "spark.app.name": res.app_name,
        "spark.sql.extensions": ICEBERG_EXTENSIONS,
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "1" if short_run else str(res.shuffle_partitions),
        "spark.sql.adaptive.coalescePartitions.enabled": "true",
        **(SHORT_RUN_CONF if short_run else LONG_RUN_CONF),
        "spark.driver.memory": res.driver_memory,
        "spark.ui.enabled": str(res.ui_enabled).lower(),
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        **catalog_conf(res),
        **iceberg_jar_conf(res),
    }
    if res.master.startswith("local"):
        conf["spark.driver.bindAddress"] = "127.0.0.1"
        conf["spark.driver.host"] = "127.0.0.1"
    optional = {
        "spark.yarn.queue": res.yarn_queue,
        "spark.executor.memory": res.executor_memory,
        "spark.executor.cores": res.executor_cores,
        "spark.archives": res.python_archive,
    }
    conf.update({key: str(value) for key, value in optional.items() if value is not None})
    if res.python_archive:
        conf["spark.pyspark.python"] = "./environment/bin/python"
    if res.dynamic_allocation_min_executors is not None or res.dynamic_allocation_max_executors:
        conf["spark.dynamicAllocation.enabled"] = "true"
        conf["spark.dynamicAllocation.shuffleTracking.enabled"] = "true"
        if res.dynamic_allocation_min_executors is not None:
            conf["spark.dynamicAllocation.minExecutors"] = str(res.dynamic_allocation_min_executors)
        if res.dynamic_allocation_max_executors:
            conf["spark.dynamicAllocation.maxExecutors"] = str(res.dynamic_allocation_max_executors)
    conf.update({key: str(value) for key, value in res.spark_config.items()})
    if res.spark_config_json:
        extra = json.loads(resolved(res.spark_config_json))
        conf.update({key: str(value) for key, value in extra.items()})
    if not runs_executors_in_driver(res.master):
        # Executors in JVMs of their own run the generated code; options set by the user win.
        conf = with_java_options(conf, EXECUTOR_JAVA_OPTIONS, COMPILE_GENERATED_CODE)
    archive = res.usable_class_archive()
    options = [f"-XX:SharedArchiveFile={archive}"] if archive else []
    options += SHORT_RUN_JAVA_OPTIONS if short_run else LONG_RUN_JAVA_OPTIONS
    if GC_FLAG.search(conf.get(DRIVER_JAVA_OPTIONS, "")):
        # The user chose a collector: a second one would stop the JVM from starting.
        options = [option for option in options if not GC_FLAG.fullmatch(option)]
    return with_driver_java_options(conf, *options) if options else conf


def mapped_class_archive(conf: dict[str, str]) -> str | None:
    """The class archive the driver maps with `conf` (the last -XX:SharedArchiveFile wins)."""
    found = re.findall(r"-XX:SharedArchiveFile=(\S+)", conf.get(DRIVER_JAVA_OPTIONS, ""))
    return found[-1] if found else None


def with_java_options(conf: dict[str, str], key: str, *options: str) -> dict[str, str]:
    """`conf` with `options` put before the Java options it already has under `key` (those win)."""
    merged = " ".join([*options, conf.get(key, "")]).strip()
    return {**conf, key: merged}


def with_driver_java_options(conf: dict[str, str], *options: str) -> dict[str, str]:
    """`conf` with `options` put before the driver Java options it already has (those win)."""
    return with_java_options(conf, DRIVER_JAVA_OPTIONS, *options)
