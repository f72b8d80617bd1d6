"""Find a Hadoop-catalog table's newest metadata file in the warehouse's files, as Iceberg does.

The Hadoop catalog has no database: a table is its folder, and its current version is the
highest `vN.metadata.json` (with `version-hint.text` as a hint). A JDBC catalog names the
current file in a database row instead (resources/iceberg/catalog_uri.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlparse

from pyarrow import fs as pafs

_METADATA_NAME = re.compile(r"v(\d+)(?:\.gz)?\.metadata\.json")
HDFS_SCHEMES = ("hdfs", "webhdfs")  # read over WebHDFS: resources/iceberg/webhdfs_io.py


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


def newest_metadata_name(fs: pafs.FileSystem, metadata_dir: str) -> str | None:
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


def local_root(warehouse: str) -> str | None:
    """Absolute local path of a plain-path or file: warehouse; None for a remote one."""
    parsed = urlparse(warehouse)
    if parsed.scheme not in ("", "file"):
        return None
    return str(Path(unquote(parsed.path) if parsed.scheme else warehouse).expanduser().resolve())


def locate(
    warehouse: str, namespace: str, name: str, webhdfs_url: str | None
) -> tuple[pafs.FileSystem, str, str]:
    """Filesystem, the table folder as it sees it, and the table location for pyiceberg."""
    suffix = f"{namespace}/{name}"
    local = local_root(warehouse)
    if local is not None:
        return pafs.LocalFileSystem(), f"{local}/{suffix}", f"{local}/{suffix}"
    location = f"{warehouse.rstrip('/')}/{suffix}"
    if urlparse(warehouse).scheme in HDFS_SCHEMES:
        from resources.iceberg import webhdfs_io

        url = webhdfs_url or webhdfs_io.webhdfs_url(warehouse)
        fs = webhdfs_io.arrow_filesystem(url, webhdfs_io.hdfs_user())
        return fs, urlparse(location).path, location
    fs, root = pafs.FileSystem.from_uri(warehouse)
    return fs, f"{root.rstrip('/')}/{suffix}", location


def metadata_location(
    warehouse: str, namespace: str, name: str, webhdfs_url: str | None = None
) -> str | None:
    """The table's newest metadata file, None when the table was never created."""
    fs, folder, location = locate(warehouse, namespace, name, webhdfs_url)
    newest = newest_metadata_name(fs, f"{folder}/metadata")
    return None if newest is None else f"{location}/metadata/{newest}"
