"""SparkSession with an Apache Iceberg catalog, one code path for local[*], standalone and YARN."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from dagster import InitResourceContext, get_dagster_logger
from dagster_pyspark import LazyPySparkResource
from dagster_pyspark.resources import spark_session_from_config
from pydantic import Field, PrivateAttr
from pyspark import SparkContext
from pyspark.sql import SparkSession

from resources.iceberg.catalog_uri import prepare_sqlite_catalog, sqlite_path
from resources.iceberg.schema_evolution import REFUSE, SchemaEvolution
from resources.spark.pyspark_compat import import_short_named_classes
from resources.spark.run_tags import run_days
from resources.spark.spark_conf import (
    DRIVER_JAVA_OPTIONS,
    LOCAL_DRIVER_MEMORY,
    CatalogType,
    build_spark_conf,
    mapped_class_archive,
    require_java,
    resolved,
)


class SparkIcebergResource(LazyPySparkResource):
    """A lazily started SparkSession with an Iceberg catalog; the same code on any Spark master.

    Typed fields cover what differs between profiles; `spark_config` adds or overrides any raw
    Spark property. The session starts on first use, once per run process (one JVM per run).
    """

    spark_config: dict[str, Any] = Field(
        default_factory=dict, description="Extra Spark properties; they win over the typed fields."
    )
    # A string, so it can be a dg.EnvVar: properties may hold secrets (an S3 key, a password),
    # and the UI then shows the variable's name, never its value.
    spark_config_json: str | None = Field(
        default=None,
        description="A JSON object of extra Spark properties, e.g. dg.EnvVar('AQI_SPARK_CONF'); "
        "they win over the typed fields and spark_config.",
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
    driver_memory: str = Field(default=LOCAL_DRIVER_MEMORY, description="spark.driver.memory.")
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
        "`python -m aqi_assets.dev.build_jvm_archive`); ignored while the file does not exist.",
    )
    short_run_max_days: int = Field(
        default=7,
        description="A run of at most this many daily partitions starts a driver tuned for "
        "short work (C1-only JIT, the throughput collector, interpreted expressions, no adaptive "
        "re-planning, one shuffle partition); 0 turns it off.",
    )
    start_with_run: bool = Field(
        default=True,
        description="Start the driver in the background as the run starts, instead of when a "
        "step first uses Spark.",
    )
    schema_evolution: SchemaEvolution = Field(
        default=REFUSE,
        description="refuse: a write whose columns differ from its table's fails, naming them. "
        "add_columns: for this run, columns the asset writes and the table lacks are added "
        "(nullable) first; other differences still fail.",
    )
    python_archive: str | None = Field(
        default=None,
        description="Packed Python env shipped to executors (spark.archives), e.g. "
        "hdfs:///envs/aqi.tar.gz#environment; PYSPARK_PYTHON then points inside it.",
    )

    _run_days: int | None = PrivateAttr(default=None)
    _starting: Future | None = PrivateAttr(default=None)
    _session: SparkSession | None = PrivateAttr(default=None)
    # Steps running side by side in threads share the run's one session.
    _session_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """Start the run's driver in the background, tuned by the days the run covers.

        The JVM's start overlaps with what the first step does before it needs Spark: Dagster's
        step bookkeeping and, for bronze, the Open-Meteo calls.
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
        conf = self.effective_conf()
        if self.catalog_type is CatalogType.JDBC and (database := sqlite_path(self._catalog_uri())):
            prepare_sqlite_catalog(database)
        session = spark_session_from_config(conf)
        import_short_named_classes(session)
        return session

    @property
    def spark_session(self) -> SparkSession:
        """The run's SparkSession, started on first use (or waited for, if starting already)."""
        with self._session_lock:
            if self._session is None:
                starting, self._starting = self._starting, None
                self._session = starting.result() if starting else self._start_driver()
                self._log_start(self._session.sparkContext)
        return self._session

    @property
    def spark_context(self) -> SparkContext:
        """The SparkContext of `spark_session`."""
        return self.spark_session.sparkContext

    def _log_start(self, context: SparkContext) -> None:
        started_with = context.getConf().get(DRIVER_JAVA_OPTIONS, "")
        archive = mapped_class_archive({DRIVER_JAVA_OPTIONS: started_with})
        tuning = (
            f"short run of {self._run_days} day(s): C1 JIT, throughput GC, interpreted expressions"
            if self.short_run
            else "full JIT and code generation"
        )
        get_dagster_logger().info(
            f"Spark application {context.applicationId} on {context.master} "
            f"(Spark UI: {context.uiWebUrl or 'disabled'}; driver class archive: "
            f"{archive or 'none, build one with `python -m aqi_assets.dev.build_jvm_archive`'}; "
            f"tuning: {tuning})"
        )

    def _catalog_uri(self) -> str:
        return resolved(self.catalog_uri) if self.catalog_uri else ""

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
