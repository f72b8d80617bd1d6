"""The JDBC catalog's URI: what Spark's JdbcCatalog is given and what pyiceberg reads match."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from aqi_assets.config.settings import load_settings
from resources.iceberg.catalog_uri import (
    CatalogUriError,
    check_catalog_uri,
    prepare_sqlite_catalog,
    sqlalchemy_url,
    sqlite_path,
)
from resources.iceberg.lakehouse_reader import LakehouseReader
from resources.spark.spark_resource import SparkIcebergResource

SECRET = "s3cr3t/p@ss"


def test_a_sqlite_file_is_the_same_file_for_both() -> None:
    assert sqlite_path("jdbc:sqlite:/var/aqi/iceberg.db") == Path("/var/aqi/iceberg.db")
    assert sqlite_path("jdbc:sqlite:file:/var/aqi/iceberg.db?busy_timeout=1") == Path(
        "/var/aqi/iceberg.db"
    )
    assert sqlalchemy_url("jdbc:sqlite:/var/aqi/iceberg.db").render_as_string() == (
        "sqlite:////var/aqi/iceberg.db"
    )
    assert sqlite_path("jdbc:postgresql://db/iceberg") is None


def test_a_relative_sqlite_file_is_refused_with_the_absolute_one() -> None:
    with pytest.raises(CatalogUriError, match=r"absolute path, e\.g\. jdbc:sqlite:/"):
        sqlite_path("jdbc:sqlite:iceberg.db")


def test_postgres_user_and_password_move_from_the_query_into_the_url() -> None:
    url = sqlalchemy_url(
        f"jdbc:postgresql://pg.internal:5433/iceberg?user=aqi&password={SECRET.replace('/', '%2F')}"
        "&sslmode=require&ApplicationName=spark"
    )
    assert url.drivername == "postgresql+psycopg2"
    assert (url.host, url.port, url.database) == ("pg.internal", 5433, "iceberg")
    assert (url.username, url.password) == ("aqi", SECRET)
    assert dict(url.query) == {"sslmode": "require"}  # libpq knows no ApplicationName


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("jdbc:mysql://db/iceberg", "SQLite or PostgreSQL"),
        (f"jdbc:postgresql://db?user=u&password={SECRET}", "one PostgreSQL host and its database"),
        ("jdbc:postgresql://a,b/iceberg", "one PostgreSQL host"),
    ],
)
def test_other_uris_are_refused_without_showing_a_password(uri: str, says: str) -> None:
    with pytest.raises(CatalogUriError, match=says) as error:
        check_catalog_uri("jdbc", uri)
    assert SECRET not in str(error.value)


def test_a_jdbc_catalog_needs_a_uri_and_others_are_not_checked() -> None:
    with pytest.raises(CatalogUriError, match="AQI_CATALOG_TYPE=jdbc needs AQI_CATALOG_URI"):
        check_catalog_uri("jdbc", None)
    check_catalog_uri("hadoop", None)
    check_catalog_uri("rest", "http://catalog:8181")


def test_spark_gets_the_schema_pyiceberg_reads_and_sqlite_no_catalog_start_of_its_own() -> None:
    def catalog_conf(uri: str) -> dict[str, str]:
        resource = SparkIcebergResource(
            warehouse="file:///w", catalog_type="jdbc", catalog_uri=uri, iceberg_packages="x:y:1"
        )
        prefix = "spark.sql.catalog.lh."
        return {k.removeprefix(prefix): v for k, v in resource.effective_conf().items() if k.startswith(prefix)}  # fmt: skip

    postgres = catalog_conf("jdbc:postgresql://db/iceberg")
    assert postgres["catalog-impl"] == "org.apache.iceberg.jdbc.JdbcCatalog"
    assert postgres["jdbc.schema-version"] == "V1"
    sqlite = catalog_conf("jdbc:sqlite:/c.db")
    assert sqlite["jdbc.init-catalog-tables"] == "false"
    assert "jdbc.schema-version" not in sqlite
    assert int(sqlite["jdbc.busy_timeout"]) >= 30_000


def test_the_sqlite_catalog_is_prepared_once_in_a_new_folder(tmp_path: Path) -> None:
    database = tmp_path / "new" / "iceberg.db"
    prepare_sqlite_catalog(database)
    with sqlite3.connect(database) as conn:
        conn.execute("INSERT INTO iceberg_tables VALUES ('lh', 'gold', 't', 'm.json', NULL)")
    prepare_sqlite_catalog(database)
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM iceberg_tables").fetchone() == (1,)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(iceberg_tables)")}
    assert "iceberg_type" not in columns  # V0: see spark_conf.jdbc_catalog_conf


def test_the_reader_reads_hadoop_and_jdbc_catalogs_only(tmp_path: Path) -> None:
    reader = LakehouseReader(warehouse=tmp_path.as_uri(), catalog_type="rest", catalog_uri="x")
    with pytest.raises(ValueError, match=r"pyiceberg\.catalog\.load_catalog"):
        reader.load("gold", "t")


def test_a_jdbc_catalog_has_a_driver_class_archive_of_its_own(tmp_path: Path) -> None:
    # Its drivers join the driver's class path, and an archive of another class path is refused.
    env = {"AQI_WAREHOUSE": tmp_path.as_uri(), "DAGSTER_HOME": str(tmp_path)}
    hadoop = load_settings(env).jvm_archive
    jdbc = load_settings(
        {**env, "AQI_CATALOG_TYPE": "jdbc", "AQI_CATALOG_URI": f"jdbc:sqlite:{tmp_path}/c.db"}
    ).jvm_archive
    assert hadoop is not None
    assert jdbc is not None
    assert hadoop != jdbc
