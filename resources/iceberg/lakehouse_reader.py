"""Read the lakehouse's Iceberg tables without Spark: pyiceberg on the Hadoop catalog's files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from dagster import ConfigurableResource
from pyarrow import fs as pafs
from pydantic import Field

if TYPE_CHECKING:  # pyiceberg is imported where it is used: every run worker loads this module
    import pyarrow as pa
    from pyiceberg.expressions import BooleanExpression
    from pyiceberg.table import Table
    from pyiceberg.table.snapshots import Snapshot

    RowFilter = str | BooleanExpression
_METADATA_NAME = re.compile(r"v(\d+)(?:\.gz)?\.metadata\.json")
_DELETE_TOTALS = ("total-position-deletes", "total-equality-deletes")
_HDFS_SCHEMES = ("hdfs", "webhdfs")  # read over WebHDFS: resources/iceberg/webhdfs_io.py


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


def _metadata_name(fs: pafs.FileSystem, metadata_dir: str, version: int) -> str | None:
    for name in (f"v{version}.metadata.json", f"v{version}.gz.metadata.json"):
        if fs.get_file_info(f"{metadata_dir}/{name}").type == pafs.FileType.File:
            return name
    return None


def _hinted_version(fs: pafs.FileSystem, metadata_dir: str) -> int | None:
    hint = f"{metadata_dir}/version-hint.text"
    if fs.get_file_info(hint).type != pafs.FileType.File:
        return None
    with fs.open_input_stream(hint) as stream:
        text = stream.read().decode().strip()
    return int(text) if text.isdigit() else None


def _newest_metadata_name(fs: pafs.FileSystem, metadata_dir: str) -> str | None:
    """Resolve like Iceberg's HadoopTableOperations: the version hint, else the highest listed
    vN, then step over newer commits the hint does not show yet."""
    version = _hinted_version(fs, metadata_dir)
    name = None if version is None else _metadata_name(fs, metadata_dir, version)
    if version is None or name is None:
        listing = fs.get_file_info(pafs.FileSelector(metadata_dir, allow_not_found=True))
        matches = [m for info in listing if (m := _METADATA_NAME.fullmatch(info.base_name))]
        if not matches:
            return None
        newest = max(matches, key=lambda m: int(m.group(1)))
        version, name = int(newest.group(1)), newest.group(0)
    while (newer := _metadata_name(fs, metadata_dir, version + 1)) is not None:
        version, name = version + 1, newer
    return name


def _local_root(warehouse: str) -> str | None:
    """Absolute local path of a plain-path or file: warehouse; None for a remote one."""
    parsed = urlparse(warehouse)
    if parsed.scheme not in ("", "file"):
        return None
    return str(Path(unquote(parsed.path) if parsed.scheme else warehouse).expanduser().resolve())


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

    def _locate(self, namespace: str, name: str) -> tuple[pafs.FileSystem, str, str]:
        """Filesystem, the table folder as it sees it, and the table location for pyiceberg."""
        suffix = f"{namespace}/{name}"
        local = _local_root(self.warehouse)
        if local is not None:
            return pafs.LocalFileSystem(), f"{local}/{suffix}", f"{local}/{suffix}"
        location = f"{self.warehouse.rstrip('/')}/{suffix}"
        if urlparse(self.warehouse).scheme in _HDFS_SCHEMES:
            from resources.iceberg import webhdfs_io

            fs = webhdfs_io.arrow_filesystem(self._webhdfs_url(), webhdfs_io.hdfs_user())
            return fs, urlparse(location).path, location
        fs, root = pafs.FileSystem.from_uri(self.warehouse)
        return fs, f"{root.rstrip('/')}/{suffix}", location

    def _webhdfs_url(self) -> str:
        from resources.iceberg import webhdfs_io

        return self.webhdfs_url or webhdfs_io.webhdfs_url(self.warehouse)

    def _io_properties(self) -> dict[str, str]:
        """pyiceberg FileIO properties: WebHDFS for an HDFS warehouse, pyiceberg's choice else."""
        if urlparse(self.warehouse).scheme not in _HDFS_SCHEMES:
            return {}
        from resources.iceberg import webhdfs_io

        return webhdfs_io.io_properties(self._webhdfs_url())

    def _metadata_location(self, namespace: str, name: str) -> str | None:
        fs, folder, location = self._locate(namespace, name)
        newest = _newest_metadata_name(fs, f"{folder}/metadata")
        return None if newest is None else f"{location}/metadata/{newest}"

    def table_exists(self, namespace: str, name: str) -> bool:
        """Whether the table has been created (has a metadata file)."""
        return self._metadata_location(namespace, name) is not None

    def load(self, namespace: str, name: str) -> Table:
        """The table at its newest commit; raises TableNotFoundError when it does not exist."""
        location = self._metadata_location(namespace, name)
        if location is None:
            raise TableNotFoundError(
                f"Iceberg table {namespace}.{name} does not exist in warehouse {self.warehouse}: "
                f"materialize the `{name}` asset first."
            )
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
