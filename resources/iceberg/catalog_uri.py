"""The JDBC catalog's database, named once by its JDBC URI (AQI_CATALOG_URI) for every reader.

Spark's Iceberg `JdbcCatalog` connects with the JDBC URI; pyiceberg's `SqlCatalog` reads the
same `iceberg_tables` rows through SQLAlchemy. These pure functions translate one into the
other, so both name the same database: an embedded SQLite file or a PostgreSQL database whose
user and password ride in the URI's query (`?user=…&password=…`, as PgJDBC reads them).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from sqlalchemy.engine import URL

SQLITE_PREFIX = "jdbc:sqlite:"
POSTGRES_PREFIX = "jdbc:postgresql:"
# libpq reads these connection parameters under the same names as PgJDBC.
SHARED_POSTGRES_PARAMETERS = ("sslmode", "sslrootcert", "sslcert", "sslkey")
EXAMPLES = (
    "jdbc:sqlite:/abs/path/iceberg_catalog.db or "
    "jdbc:postgresql://host:5432/iceberg?user=iceberg&password=..."
)


# Iceberg's JdbcCatalog's own V0 schema (JdbcUtil), which pyiceberg's SQL catalog reads too.
SQLITE_CATALOG_TABLES = (
    "CREATE TABLE IF NOT EXISTS iceberg_tables(catalog_name VARCHAR(255) NOT NULL,"
    "table_namespace VARCHAR(255) NOT NULL,table_name VARCHAR(255) NOT NULL,"
    "metadata_location VARCHAR(1000),previous_metadata_location VARCHAR(1000),"
    "PRIMARY KEY (catalog_name, table_namespace, table_name))",
    "CREATE TABLE IF NOT EXISTS iceberg_namespace_properties(catalog_name VARCHAR(255) NOT NULL,"
    "namespace VARCHAR(255) NOT NULL,property_key VARCHAR(255),property_value VARCHAR(1000),"
    "PRIMARY KEY (catalog_name, namespace, property_key))",
)


class CatalogUriError(ValueError):
    """The catalog URI cannot name a catalog database; the message says what to write."""


def sqlite_path(jdbc_uri: str) -> Path | None:
    """The database file of a `jdbc:sqlite:` URI (absolute), None for any other URI."""
    if not jdbc_uri.startswith(SQLITE_PREFIX):
        return None
    raw = unquote(jdbc_uri.removeprefix(SQLITE_PREFIX).split("?", 1)[0].removeprefix("file:"))
    if not raw.startswith("/"):
        # Relative to each process's working directory: the UI, the daemon and a run would
        # each open a different file.
        raise CatalogUriError(
            f"AQI_CATALOG_URI={jdbc_uri} names a relative SQLite file: write an absolute path, "
            f"e.g. jdbc:sqlite:{Path(raw).expanduser().resolve()}."
        )
    return Path(raw)


def check_catalog_uri(catalog_type: str, jdbc_uri: str | None) -> None:
    """Fail with what to write when a JDBC catalog has no URI, or one no reader understands."""
    if catalog_type != "jdbc":
        return
    if not jdbc_uri:
        raise CatalogUriError(f"AQI_CATALOG_TYPE=jdbc needs AQI_CATALOG_URI, e.g. {EXAMPLES}.")
    sqlalchemy_url(jdbc_uri)


def _postgres_url(jdbc_uri: str) -> URL:
    parts = urlsplit(jdbc_uri.removeprefix("jdbc:"))
    if not parts.hostname or not parts.path.strip("/") or "," in parts.netloc:
        raise CatalogUriError(
            "AQI_CATALOG_URI must name one PostgreSQL host and its database, e.g. "
            "jdbc:postgresql://host:5432/iceberg?user=iceberg&password=..."
        )
    query = dict(parse_qsl(parts.query))
    return URL.create(
        # psycopg2, the driver dagster-postgres installs: SQLAlchemy 2.1 reads a bare
        # `postgresql` as psycopg 3.
        "postgresql+psycopg2",
        username=query.get("user") or parts.username,
        password=query.get("password") or parts.password,
        host=parts.hostname,
        port=parts.port,
        database=unquote(parts.path.strip("/")),
        query={k: v for k, v in query.items() if k in SHARED_POSTGRES_PARAMETERS},
    )


def sqlalchemy_url(jdbc_uri: str) -> URL:
    """The SQLAlchemy URL of the database a `jdbc:sqlite:` or `jdbc:postgresql:` URI names."""
    path = sqlite_path(jdbc_uri)
    if path is not None:
        return URL.create("sqlite", database=str(path))
    if jdbc_uri.startswith(POSTGRES_PREFIX):
        return _postgres_url(jdbc_uri)
    scheme = ":".join(jdbc_uri.split(":", 2)[:2])
    raise CatalogUriError(
        f"AQI_CATALOG_URI starts with {scheme!r}: the JDBC catalog runs on SQLite or PostgreSQL "
        f"(the drivers pinned in resources/spark/jar_pins.py), e.g. {EXAMPLES}."
    )


def prepare_sqlite_catalog(path: Path) -> None:
    """Create the SQLite catalog's folder and tables unless they exist (see spark_conf.py)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path, timeout=60) as conn:
        for statement in SQLITE_CATALOG_TABLES:
            conn.execute(statement)
    conn.close()
