"""SparkSession with an Apache Iceberg catalog, one code path for local[*], standalone and YARN."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import Future
from enum import StrEnum
from importlib import resources as importlib_resources
from typing import Any

from dagster import InitResourceContext, get_dagster_logger
from dagster_pyspark import LazyPySparkResource
from dagster_pyspark.resources import spark_session_from_config
from pydantic import Field, PrivateAttr

from resources.run_tags import run_days

ICEBERG_JAR_PACKAGE = "snowpark_connect_deps_iceberg"
ICEBERG_JAR_NAME = "iceberg-spark-runtime-3.5_2.12-1.10.2.jar"
ICEBERG_EXTENSIONS = "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"
DRIVER_JAVA_OPTIONS = "spark.driver.extraJavaOptions"
MIN_JAVA_MAJOR = 17
# A run of a few days is over before Spark's warm-up pays off: in a fresh driver most of its time
# goes into the JIT's optimizing compiler, Janino code generation and adaptive re-planning, all
# for a few hundred rows. One day of the graph with 22 months in place, 2 cores: 29.1 s ->
# 19.0-19.7 s; the serial collector (no G1 set-up and concurrent threads on 2 cores) about 1 s
# more. Large runs need them: 100 cities x 22 months with the C1-only JIT took silver from 66 s
# to 117 s. Each profile sets the same SQL keys, so a reused session switches cleanly.
SHORT_RUN_JAVA_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
# Longer runs are batch work: the throughput collector beats G1 on 2 cores and keeps no
# remembered sets (G1's took 79 MB beside a 1 GB heap). 100 cities x 22 months in one process,
# 1 GB heap: 101.5 s and 1456 MB JVM with G1, 92.4 s and 1470 MB with the parallel collector.
LONG_RUN_JAVA_OPTIONS = ("-XX:+UseParallelGC",)
GC_FLAG = re.compile(r"-XX:\+Use\w*GC\b")
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


def shipped_iceberg_jar() -> str:
    """Path of the Iceberg Spark runtime jar shipped by the `snowpark-connect-deps-iceberg` wheel."""
    try:
        jar = importlib_resources.files(ICEBERG_JAR_PACKAGE).joinpath("jars", ICEBERG_JAR_NAME)
    except ModuleNotFoundError as exc:
        raise SparkConfigError(
            "The Iceberg runtime jar package is not installed: pip install "
            "'snowpark-connect-deps-iceberg==1.0.2', or set iceberg_jar / iceberg_packages."
        ) from exc
    if not jar.is_file():
        raise SparkConfigError(
            f"{ICEBERG_JAR_NAME} is missing from {ICEBERG_JAR_PACKAGE}; version 1.0.3 of that package "
            "is stripped: install snowpark-connect-deps-iceberg==1.0.2."
        )
    return str(jar)


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


class SparkIcebergResource(LazyPySparkResource):
    """A lazily started SparkSession with an Iceberg catalog; the same code on any Spark master.

    Typed fields cover what differs between profiles; `spark_config` adds or overrides any raw
    Spark property. The session starts on first use, once per run process (one JVM per run).
    """

    spark_config: dict[str, Any] = Field(
        default_factory=dict, description="Extra Spark properties; they win over the typed fields."
    )
    master: str = Field(
        default="local[*]", description="Spark master: local[*], yarn, spark://host:port."
    )
    app_name: str = Field(default="aqi-lakehouse", description="Spark application name.")
    catalog_name: str = Field(default="lh", description="Spark SQL name of the Iceberg catalog.")
    catalog_type: CatalogType = Field(
        default=CatalogType.HADOOP, description="Iceberg catalog kind."
    )
    warehouse: str = Field(description="Iceberg warehouse URI (file://, hdfs://, s3a://).")
    catalog_uri: str | None = Field(
        default=None,
        description="Catalog service URI: JDBC URL, REST endpoint or thrift:// metastore.",
    )
    iceberg_jar: str | None = Field(
        default=None,
        description="Path or URI of the Iceberg Spark runtime jar; default: the shipped one.",
    )
    iceberg_packages: str | None = Field(
        default=None,
        description="Maven coordinates for the Iceberg runtime (replaces the jar), e.g. "
        "org.apache.iceberg:iceberg-spark-runtime-3.5_2.12:1.10.2.",
    )
    shuffle_partitions: int = Field(default=4, description="spark.sql.shuffle.partitions.")
    driver_memory: str = Field(default="768m", description="spark.driver.memory.")
    ui_enabled: bool = Field(
        default=True, description="Start the Spark UI (its URL is logged per run)."
    )
    yarn_queue: str | None = Field(default=None, description="YARN queue (spark.yarn.queue).")
    executor_memory: str | None = Field(default=None, description="spark.executor.memory.")
    executor_cores: int | None = Field(default=None, description="spark.executor.cores.")
    dynamic_allocation_min_executors: int | None = Field(
        default=None, description="Enables dynamic allocation with this lower bound."
    )
    dynamic_allocation_max_executors: int | None = Field(
        default=None, description="Upper bound of dynamic allocation."
    )
    class_archive: str | None = Field(
        default=None,
        description="JVM class-data-sharing archive the driver maps at start (built by "
        "`aqi jvm-archive`); ignored while the file does not exist.",
    )
    short_run_max_days: int = Field(
        default=7,
        description="A run of at most this many daily partitions starts a driver tuned for "
        "short work (C1-only JIT, serial GC, interpreted expressions, no adaptive re-planning, "
        "one shuffle partition); 0 turns it off.",
    )
    start_with_run: bool = Field(
        default=True,
        description="Start the driver in the background as the run starts, instead of when a "
        "step first uses Spark.",
    )
    python_archive: str | None = Field(
        default=None,
        description="Packed Python env shipped to executors (spark.archives), e.g. "
        "hdfs:///envs/aqi.tar.gz#environment; PYSPARK_PYTHON then points inside it.",
    )

    _run_days: int | None = PrivateAttr(default=None)
    _starting: Future | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Start the run's driver in the background, tuned by the days the run covers.

        The JVM's start (about 2-3 s) overlaps with what the first step does before it needs
        Spark: Dagster's step bookkeeping and, for bronze, the Open-Meteo calls.
        """
        self._run_days = run_days(context.dagster_run.tags) if context.dagster_run else None
        if self.start_with_run:
            self._starting = in_background(self._start_driver, "spark-driver-start")

    @property
    def short_run(self) -> bool:
        """Whether this run is short enough for the short-run tuning."""
        return self._run_days is not None and self._run_days <= self.short_run_max_days

    def effective_conf(self) -> dict[str, str]:
        """The full Spark configuration this resource starts the session with."""
        return build_spark_conf(self, self.short_run)

    def _start_driver(self) -> Any:
        if self.master.startswith("local") or self.master.startswith("spark://"):
            require_java()
        return spark_session_from_config(self.effective_conf())

    def _init_session(self) -> None:
        if self._spark_session is None:
            starting, self._starting = self._starting, None
            self._spark_session = starting.result() if starting else self._start_driver()
            context = self._spark_session.sparkContext
            started_with = context.getConf().get(DRIVER_JAVA_OPTIONS, "")
            archive = mapped_class_archive({DRIVER_JAVA_OPTIONS: started_with})
            tuning = (
                f"short run of {self._run_days} day(s): C1 JIT, serial GC, interpreted expressions"
                if self.short_run
                else "full JIT and code generation"
            )
            get_dagster_logger().info(
                f"Spark application {context.applicationId} on {context.master} "
                f"(Spark UI: {context.uiWebUrl or 'disabled'}; driver class archive: "
                f"{archive or 'none, build one with `aqi jvm-archive`'}; tuning: {tuning})"
            )

    def usable_class_archive(self) -> str | None:
        """`class_archive` when the file exists, else None."""
        archive = self.class_archive
        return archive if archive and os.path.isfile(archive) else None

    def table(self, namespace: str, name: str) -> str:
        """Fully qualified Spark name of an Iceberg table, e.g. `lh.silver.silver_hourly`."""
        return f"{self.catalog_name}.{namespace}.{name}"


def in_background(work: Callable[[], Any], name: str) -> Future:
    """Run `work` in a daemon thread; its result (or exception) comes out of the future."""
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as exc:  # handed to whoever waits for the result
            future.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


def build_spark_conf(res: SparkIcebergResource, short_run: bool = False) -> dict[str, str]:
    """Translate the resource's typed fields into Spark properties (pure, no JVM)."""
    catalog = f"spark.sql.catalog.{res.catalog_name}"
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
        catalog: "org.apache.iceberg.spark.SparkCatalog",
        f"{catalog}.warehouse": res.warehouse,
    }
    if res.catalog_type is CatalogType.JDBC:
        conf[f"{catalog}.catalog-impl"] = "org.apache.iceberg.jdbc.JdbcCatalog"
    else:
        conf[f"{catalog}.type"] = res.catalog_type.value
    if res.catalog_type is not CatalogType.HADOOP:
        if not res.catalog_uri:
            raise SparkConfigError(
                f"catalog_type={res.catalog_type.value} needs catalog_uri (set AQI_CATALOG_URI)."
            )
        conf[f"{catalog}.uri"] = res.catalog_uri
    if res.iceberg_packages:
        conf["spark.jars.packages"] = res.iceberg_packages
    else:
        conf["spark.jars"] = res.iceberg_jar or shipped_iceberg_jar()
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


def with_driver_java_options(conf: dict[str, str], *options: str) -> dict[str, str]:
    """`conf` with `options` put before the driver Java options it already has (those win)."""
    merged = " ".join([*options, conf.get(DRIVER_JAVA_OPTIONS, "")]).strip()
    return {**conf, DRIVER_JAVA_OPTIONS: merged}
