"""hdfs:// warehouses read over WebHDFS (plain HTTP): no native libhdfs or Hadoop install needed.

pyiceberg reads hdfs:// through pyarrow's HadoopFileSystem, which loads libhdfs and a Hadoop
classpath through JNI; a Dagster host often has neither. The NameNode's WebHDFS serves the same
files over HTTP, and fsspec speaks it.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from xml.etree import ElementTree

from fsspec import AbstractFileSystem
from fsspec.implementations.webhdfs import WebHDFS
from pyarrow import fs as pafs
from pyiceberg.io.fsspec import FsspecFileIO

WEBHDFS_URL = "webhdfs.url"
HDFS_USER = "hdfs.user"
HDFS_SCHEMES = ("hdfs", "webhdfs")
DEFAULT_HTTP_PORT = 9870  # Hadoop 3's NameNode web port


def _site_value(conf_dir: str, name: str) -> str | None:
    site = Path(conf_dir) / "hdfs-site.xml"
    if not site.is_file():
        return None
    for prop in ElementTree.parse(site).getroot().iter("property"):
        if prop.findtext("name") == name:
            return (prop.findtext("value") or "").strip() or None
    return None


def webhdfs_url(warehouse: str) -> str:
    """http://host:port of the NameNode serving `warehouse`: `dfs.namenode.http-address` of
    $HADOOP_CONF_DIR/hdfs-site.xml, else the warehouse's host on Hadoop 3's default port."""
    conf_dir = os.environ.get("HADOOP_CONF_DIR")
    address = _site_value(conf_dir, "dfs.namenode.http-address") if conf_dir else None
    if address:
        return f"http://{address}"
    host = urlparse(warehouse).hostname
    if not host:
        raise ValueError(
            f"Cannot tell the NameNode of {warehouse}: give the warehouse as hdfs://host:port/... "
            "or set HADOOP_CONF_DIR to the folder holding hdfs-site.xml."
        )
    return f"http://{host}:{DEFAULT_HTTP_PORT}"


def hdfs_user() -> str:
    """The HDFS user name, as Hadoop's simple authentication picks it."""
    return os.environ.get("HADOOP_USER_NAME") or getpass.getuser()


def webhdfs(url: str, user: str) -> WebHDFS:
    """An fsspec WebHDFS client for the NameNode at `url` (http://host:port)."""
    parsed = urlparse(url)
    return WebHDFS(
        host=parsed.hostname,
        port=parsed.port or DEFAULT_HTTP_PORT,
        user=user,
        use_https=parsed.scheme == "https",
        skip_instance_cache=True,
    )


def arrow_filesystem(url: str, user: str) -> pafs.FileSystem:
    """The same client as a pyarrow filesystem (for listings), paths without the scheme."""
    return pafs.PyFileSystem(pafs.FSSpecHandler(webhdfs(url, user)))


def io_properties(url: str) -> dict[str, str]:
    """pyiceberg properties that load `WebHdfsFileIO` reading from the NameNode at `url`."""
    return {"py-io-impl": f"{__name__}.WebHdfsFileIO", WEBHDFS_URL: url, HDFS_USER: hdfs_user()}


class WebHdfsFileIO(FsspecFileIO):
    """pyiceberg's fsspec FileIO with hdfs:// paths served by WebHDFS."""

    def __init__(self, properties: dict[str, Any]) -> None:
        super().__init__(properties)
        self._webhdfs: AbstractFileSystem | None = None

    def get_fs(self, scheme: str, hostname: str | None = None) -> AbstractFileSystem:
        """WebHDFS for hdfs:// and webhdfs://, fsspec's own filesystems otherwise."""
        if scheme not in HDFS_SCHEMES:
            return super().get_fs(scheme, hostname)
        if self._webhdfs is None:
            url = self.properties.get(WEBHDFS_URL)
            if not url:
                raise ValueError(f"WebHdfsFileIO needs the {WEBHDFS_URL} property.")
            self._webhdfs = webhdfs(url, self.properties.get(HDFS_USER) or hdfs_user())
        return self._webhdfs
