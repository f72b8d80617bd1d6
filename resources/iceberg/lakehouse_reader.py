"""Read the lakehouse's Iceberg tables without Spark: pyiceberg through the configured catalog.

A JDBC catalog is read through pyiceberg's SQL catalog on the same database and catalog name
as Spark's; the Hadoop catalog has no database, so its tables' metadata files are found in the
warehouse (resources/iceberg/hadoop_tables.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from dagster import ConfigurableResource
from pydantic import Field

from resources.iceberg import hadoop_tables
from resources.iceberg.catalog_uri import sqlalchemy_url, sqlite_path
from resources.spark.spark_conf import CatalogType, resolved

if TYPE_CHECKING:  # pyiceberg is imported where it is used: every run worker loads this module
    import pyarrow as pa
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.expressions import BooleanExpression
    from pyiceberg.table import Table
    from pyiceberg.table.snapshots import Snapshot

    RowFilter = str | BooleanExpression
_DELETE_TOTALS = ("total-position-deletes", "total-equality-deletes")


class TableNotFoundError(LookupError):
    """The Iceberg table has no metadata file in the warehouse (never written)."""


@dataclass(frozen=True)
class SnapshotInfo:
    """One Iceberg snapshot (commit) with its record counts from the snapshot summary."""

    snapshot_id: int
    parent_id: int | None
    committed_at: datetime
    operation: str
    added_records: int
    deleted_records: int
    total_records: int


@dataclass(frozen=True)
class PartitionInfo:
    """Live data of one partition: its values by partition field name (days as `date`)."""

    partition: dict[str, Any]
    record_count: int
    file_count: int


@dataclass(frozen=True)
class DataFileInfo:
    """One live data file of the current snapshot."""

    path: str
    record_count: int
    file_size_in_bytes: int
    partition: dict[str, Any]


def _summary_int(snapshot: Snapshot, key: str) -> int:
    return int((snapshot.summary[key] if snapshot.summary else None) or 0)


def _or_all(row_filter: RowFilter | None) -> RowFilter:
    from pyiceberg.expressions import AlwaysTrue

    return AlwaysTrue() if row_filter is None else row_filter


def _partition(value: dict[str, Any] | None) -> dict[str, Any]:
    return dict(value or {})


class LakehouseReader(ConfigurableResource):
    """Read-only access to the lakehouse's Iceberg tables through pyiceberg (no Spark, no JVM).

    Every call re-resolves the newest metadata file, so it always sees the latest commit.
    """

    warehouse: str = Field(
        description="Iceberg warehouse of the Hadoop catalog: a path or a file:// / hdfs:// URI."
    )
    webhdfs_url: str | None = Field(
        default=None,
        description="http://namenode:port serving an hdfs:// warehouse over WebHDFS; default: "
        "dfs.namenode.http-address of $HADOOP_CONF_DIR/hdfs-site.xml.",
    )

    catalog_type: CatalogType = Field(
        default=CatalogType.HADOOP,
        description="hadoop: tables found in the warehouse's files; jdbc: through the catalog "
        "database at catalog_uri, as Spark's JdbcCatalog wrote it.",
    )
    catalog_uri: str | None = Field(
        default=None,
        description="JDBC URI of the catalog database (jdbc:sqlite:/path or "
        "jdbc:postgresql://host:port/db?user=...&password=...), e.g. dg.EnvVar('AQI_CATALOG_URI').",
    )
    catalog_name: str = Field(
        default="lh", description="The Spark catalog's name: the JDBC catalog's rows carry it."
    )

    def _webhdfs_url(self) -> str:
        from resources.iceberg import webhdfs_io

        return self.webhdfs_url or webhdfs_io.webhdfs_url(self.warehouse)

    def _io_properties(self) -> dict[str, str]:
        """pyiceberg FileIO properties: WebHDFS for an HDFS warehouse, pyiceberg's choice else."""
        if urlparse(self.warehouse).scheme not in hadoop_tables.HDFS_SCHEMES:
            return {}
        from resources.iceberg import webhdfs_io

        return webhdfs_io.io_properties(self._webhdfs_url())

    def _not_found(self, namespace: str, name: str) -> TableNotFoundError:
        where = (
            f"catalog {self.catalog_name}"
            if self.catalog_type is CatalogType.JDBC
            else f"warehouse {self.warehouse}"
        )
        return TableNotFoundError(
            f"Iceberg table {namespace}.{name} does not exist in {where}: "
            f"materialize the `{name}` asset first."
        )

    def _catalog(self) -> SqlCatalog | None:
        """pyiceberg's SQL catalog on the JDBC catalog's database; None before its first table."""
        if self.catalog_type is not CatalogType.JDBC:
            raise ValueError(
                f"LakehouseReader reads the hadoop and jdbc catalogs, not {self.catalog_type}: "
                "load that catalog with pyiceberg.catalog.load_catalog instead."
            )
        uri = resolved(self.catalog_uri) if self.catalog_uri else ""
        if not uri:
            raise ValueError("catalog_type=jdbc needs catalog_uri (set AQI_CATALOG_URI).")
        database = sqlite_path(uri)
        if database is not None and not database.is_file():
            return None  # connecting would create an empty file
        url = sqlalchemy_url(uri).render_as_string(hide_password=False)
        catalog = _sql_catalog(self.catalog_name, url, tuple(self._io_properties().items()))
        from sqlalchemy import inspect

        # Spark creates the catalog's tables with its first table; a reader never does.
        return catalog if inspect(catalog.engine).has_table("iceberg_tables") else None

    def table_exists(self, namespace: str, name: str) -> bool:
        """Whether the table has been created (has a metadata file)."""
        if self.catalog_type is CatalogType.HADOOP:
            location = hadoop_tables.metadata_location(
                self.warehouse, namespace, name, self.webhdfs_url
            )
            return location is not None
        catalog = self._catalog()
        return catalog is not None and catalog.table_exists((namespace, name))

    def load(self, namespace: str, name: str) -> Table:
        """The table at its newest commit; raises TableNotFoundError when it does not exist."""
        if self.catalog_type is not CatalogType.HADOOP:
            from pyiceberg.exceptions import NoSuchTableError

            catalog = self._catalog()
            if catalog is None:
                raise self._not_found(namespace, name)
            try:
                return catalog.load_table((namespace, name))
            except NoSuchTableError:
                raise self._not_found(namespace, name) from None
        location = hadoop_tables.metadata_location(
            self.warehouse, namespace, name, self.webhdfs_url
        )
        if location is None:
            raise self._not_found(namespace, name)
        from pyiceberg.table import StaticTable

        return StaticTable.from_metadata(location, properties=self._io_properties())

    def snapshots(self, namespace: str, name: str) -> list[SnapshotInfo]:
        """Every snapshot still in the table metadata, oldest first."""
        table = self.load(namespace, name)
        return [
            SnapshotInfo(
                snapshot_id=snapshot.snapshot_id,
                parent_id=snapshot.parent_snapshot_id,
                committed_at=datetime.fromtimestamp(snapshot.timestamp_ms / 1000, tz=UTC),
                operation=snapshot.summary.operation.value if snapshot.summary else "",
                added_records=_summary_int(snapshot, "added-records"),
                deleted_records=_summary_int(snapshot, "deleted-records"),
                total_records=_summary_int(snapshot, "total-records"),
            )
            for snapshot in sorted(table.snapshots(), key=lambda s: s.timestamp_ms)
        ]

    def current_snapshot_id(self, namespace: str, name: str) -> int | None:
        """Id of the current snapshot, None for a table that was never written to."""
        snapshot = self.load(namespace, name).current_snapshot()
        return None if snapshot is None else snapshot.snapshot_id

    def partitions(self, namespace: str, name: str) -> list[PartitionInfo]:
        """Live partitions of the current snapshot (one entry with `{}` when unpartitioned)."""
        table = self.load(namespace, name)
        if table.current_snapshot() is None:
            return []
        rows = table.inspect.partitions().to_pylist()
        return [
            PartitionInfo(_partition(row.get("partition")), row["record_count"], row["file_count"])
            for row in rows
        ]

    def row_count(self, namespace: str, name: str, row_filter: RowFilter | None = None) -> int:
        """Live rows, from the snapshot summary when unfiltered and free of deletes, else a scan."""
        table = self.load(namespace, name)
        snapshot = table.current_snapshot()
        if snapshot is None:
            return 0
        total = snapshot.summary["total-records"] if snapshot.summary else None
        has_deletes = any(_summary_int(snapshot, key) for key in _DELETE_TOTALS)
        if row_filter is None and total is not None and not has_deletes:
            return int(total)
        return table.scan(row_filter=_or_all(row_filter)).count()

    def read_arrow(
        self,
        namespace: str,
        name: str,
        row_filter: RowFilter | None = None,
        selected_fields: tuple[str, ...] = ("*",),
    ) -> pa.Table:
        """The table's current rows (optionally filtered and projected) as a pyarrow Table."""
        scan = self.load(namespace, name).scan(
            row_filter=_or_all(row_filter), selected_fields=selected_fields
        )
        return scan.to_arrow()

    def files(self, namespace: str, name: str) -> list[DataFileInfo]:
        """Live data files of the current snapshot (delete files excluded)."""
        columns = ["file_path", "record_count", "file_size_in_bytes", "partition"]
        rows = self.load(namespace, name).inspect.data_files().select(columns).to_pylist()
        return [
            DataFileInfo(
                row["file_path"],
                row["record_count"],
                row["file_size_in_bytes"],
                _partition(row["partition"]),
            )
            for row in rows
        ]


@lru_cache(maxsize=8)
def _sql_catalog(name: str, url: str, io_properties: tuple[tuple[str, str], ...]) -> SqlCatalog:
    """One pyiceberg SQL catalog (and its connection pool) per database, catalog name and IO."""
    from pyiceberg.catalog.sql import SqlCatalog

    sql_log = logging.getLogger(SqlCatalog.__module__)
    level = sql_log.level
    # A SQLite catalog keeps Iceberg's V0 schema on purpose (spark_conf.jdbc_catalog_conf);
    # pyiceberg's warning about it asks for a migration that must not happen.
    sql_log.setLevel(logging.ERROR)
    try:
        return SqlCatalog(
            name,
            uri=url,
            init_catalog_tables="false",
            # A pooled connection may have outlived a PostgreSQL restart.
            pool_pre_ping="true",
            **dict(io_properties),
        )
    finally:
        sql_log.setLevel(level)
