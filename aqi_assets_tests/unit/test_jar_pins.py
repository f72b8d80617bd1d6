"""Jars by pinned coordinates: a cached jar is used without network, a damaged one is refused."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from resources.spark.jar_fetch import fetch_jar, fetch_jars
from resources.spark.jar_pins import (
    FETCH_COMMAND,
    ICEBERG_RUNTIME,
    JDBC_DRIVERS,
    PINS,
    JarError,
    JarPin,
    check_jar,
    default_jar_dir,
    pinned_jar,
)
from resources.spark.spark_conf import SparkConfigError, build_spark_conf
from resources.spark.spark_resource import SparkIcebergResource

ROOT = Path(__file__).resolve().parents[2]
BODY = b"PK\x03\x04 a small stand-in for a jar"
FAKE = JarPin("org.example", "demo", "1.0", hashlib.sha256(BODY).hexdigest(), len(BODY))


def no_network(url: str, target: Path) -> None:
    raise AssertionError(f"a cached jar was downloaded again from {url}")


def serve(body: bytes, calls: list[str]):
    def download(url: str, target: Path) -> None:
        calls.append(url)
        target.write_bytes(body)

    return download


def test_pins_are_exact_maven_coordinates_with_sha256() -> None:
    assert ICEBERG_RUNTIME.coordinates == "org.apache.iceberg:iceberg-spark-runtime-3.5_2.12:1.10.2"
    assert {pin.artifact for pin in JDBC_DRIVERS} == {"postgresql", "sqlite-jdbc"}
    for pin in PINS:
        assert len(pin.sha256) == 64
        assert int(pin.sha256, 16) >= 0
        assert pin.size > 0
    assert ICEBERG_RUNTIME.repository_path == (
        "org/apache/iceberg/iceberg-spark-runtime-3.5_2.12/1.10.2/"
        "iceberg-spark-runtime-3.5_2.12-1.10.2.jar"
    )


def test_a_missing_jar_is_downloaded_checked_and_then_never_again(tmp_path: Path) -> None:
    calls: list[str] = []
    path, downloaded = fetch_jar(FAKE, tmp_path, serve(BODY, calls), "https://repo.example/m2")
    assert downloaded
    assert calls == ["https://repo.example/m2/org/example/demo/1.0/demo-1.0.jar"]
    assert path.read_bytes() == BODY
    # Cached: the bootstrap's fetch makes no network call, and the runs find the same file.
    assert fetch_jars(tmp_path, [FAKE], no_network) == [(path, False)]
    assert pinned_jar(FAKE, tmp_path) == path


def test_a_download_with_another_checksum_installs_nothing(tmp_path: Path) -> None:
    with pytest.raises(JarError, match=f"not the pinned {FAKE.sha256}") as refused:
        fetch_jar(FAKE, tmp_path, serve(BODY + b"!", []))
    assert FETCH_COMMAND in str(refused.value)
    assert list(tmp_path.iterdir()) == []


def test_an_unreachable_repository_says_what_to_run(tmp_path: Path) -> None:
    def offline(url: str, target: Path) -> None:
        raise OSError("Network is unreachable")

    with pytest.raises(JarError, match="Network is unreachable") as refused:
        fetch_jar(FAKE, tmp_path, offline)
    assert FETCH_COMMAND in str(refused.value)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_jar_stops_the_run_naming_the_command(tmp_path: Path) -> None:
    with pytest.raises(JarError, match="is missing") as missing:
        pinned_jar(FAKE, tmp_path)
    assert FETCH_COMMAND in str(missing.value)


def flip_a_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_copy_with_one_byte_flipped_is_refused_by_its_checksum(tmp_path: Path) -> None:
    good, damaged = tmp_path / "good", tmp_path / "damaged"
    fetch_jar(FAKE, good, serve(BODY, []))
    damaged.mkdir()
    shutil.copy(good / FAKE.file_name, damaged / FAKE.file_name)
    flip_a_byte(damaged / FAKE.file_name, len(BODY) // 2)
    with pytest.raises(JarError, match="sha256") as refused:
        pinned_jar(FAKE, damaged)
    assert FETCH_COMMAND in str(refused.value)
    # The fetch command is the fix: it replaces the damaged copy.
    calls: list[str] = []
    assert fetch_jar(FAKE, damaged, serve(BODY, calls))[1]
    assert len(calls) == 1
    assert pinned_jar(FAKE, damaged).read_bytes() == BODY


def test_a_rewritten_jar_is_hashed_again_despite_its_stamp(tmp_path: Path) -> None:
    path, _ = fetch_jar(FAKE, tmp_path, serve(BODY, []))
    check_jar(FAKE, path)  # stamped: not hashed again
    flip_a_byte(path, 0)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    with pytest.raises(JarError, match="sha256"):
        check_jar(FAKE, path)


def test_spark_conf_says_what_to_run_when_the_runtime_jar_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AQI_JAR_DIR", str(tmp_path))
    with pytest.raises(SparkConfigError, match=re.escape(FETCH_COMMAND)):
        build_spark_conf(SparkIcebergResource(warehouse="file:///w"))
    # An explicit jar or Maven coordinates need no fetched copy (AQI_ICEBERG_JAR / _PACKAGES).
    conf = build_spark_conf(SparkIcebergResource(warehouse="file:///w", iceberg_jar="/opt/i.jar"))
    assert conf["spark.driver.extraClassPath"] == "/opt/i.jar"
    packages = ICEBERG_RUNTIME.coordinates
    conf = build_spark_conf(SparkIcebergResource(warehouse="file:///w", iceberg_packages=packages))
    assert conf["spark.jars.packages"] == packages
    assert "spark.driver.extraClassPath" not in conf


def stage_jdbc_drivers(directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stand-ins with the pinned names, trusted through their stamps (no 13 MB of test data)."""
    monkeypatch.setattr(
        "resources.spark.jar_pins.check_jar", lambda pin, path, trust_stamp=True: None
    )
    for pin in JDBC_DRIVERS:
        (directory / pin.file_name).write_bytes(b"stand-in")


def test_jdbc_drivers_join_the_class_path_for_a_jdbc_catalog_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AQI_JAR_DIR", str(tmp_path))
    stage_jdbc_drivers(tmp_path, monkeypatch)
    common = {"warehouse": "file:///w", "iceberg_jar": "/opt/i.jar"}
    hadoop = build_spark_conf(SparkIcebergResource(**common))
    assert hadoop["spark.driver.extraClassPath"] == "/opt/i.jar"
    jdbc = SparkIcebergResource(**common, catalog_type="jdbc", catalog_uri="jdbc:sqlite:/c.db")
    drivers = [str(tmp_path / pin.file_name) for pin in JDBC_DRIVERS]
    conf = build_spark_conf(jdbc)
    assert conf["spark.driver.extraClassPath"] == os.pathsep.join(["/opt/i.jar", *drivers])
    assert "spark.jars" not in conf  # local executors share the driver's class path
    on_yarn = build_spark_conf(
        SparkIcebergResource(
            **common, master="yarn", catalog_type="jdbc", catalog_uri="jdbc:sqlite:/c.db"
        )
    )
    assert on_yarn["spark.jars"] == ",".join(["/opt/i.jar", *drivers])


def test_the_fetch_command_works_offline_once_the_jars_are_cached(tmp_path: Path) -> None:
    """Every proxy and the repository point at a closed port: a cache hit must not notice."""
    source = default_jar_dir()
    if not all((source / pin.file_name).is_file() for pin in PINS):
        pytest.skip(f"the jars are not fetched yet: run `{FETCH_COMMAND}` (scripts/test does)")
    for pin in PINS:
        try:
            os.link(source / pin.file_name, tmp_path / pin.file_name)
        except OSError:
            shutil.copy(source / pin.file_name, tmp_path / pin.file_name)
    dead = "http://127.0.0.1:9"
    env = {
        **os.environ,
        "AQI_JAR_DIR": str(tmp_path),
        "AQI_MAVEN_REPOSITORY": dead,
        **{name: dead for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")},
    }
    env.pop("no_proxy", None)
    env.pop("NO_PROXY", None)
    done = subprocess.run(
        [sys.executable, "-m", "resources.spark.jar_fetch"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "downloaded" not in done.stderr
