"""The Spark driver's class archive: built from a real pipeline run, mapped by later drivers."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from aqi_assets.config.settings import load_settings
from resources.spark.jvm_archive import ARCHIVE_PREFIX
from resources.spark.spark_conf import (
    DRIVER_JAVA_OPTIONS,
    LONG_RUN_JAVA_OPTIONS,
    build_spark_conf,
    mapped_class_archive,
)
from resources.spark.spark_resource import SparkIcebergResource

ROOT = Path(__file__).resolve().parents[2]
# A class+load log line for a class mapped from the dynamic (top) archive layer.
FROM_ARCHIVE = "source: shared objects file (top)"


def run_python(code: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter (a fresh driver JVM) from the project root."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def aqi_jvm_archive(archive: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """`python -m aqi_assets.dev.build_jvm_archive --path archive`, as the bootstrap runs it."""
    return subprocess.run(
        [sys.executable, "-m", "aqi_assets.dev.build_jvm_archive", "--path", str(archive)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_driver_maps_the_archive_only_when_it_exists(tmp_path: Path) -> None:
    archive = tmp_path / "driver.jsa"
    resource = SparkIcebergResource(
        warehouse=tmp_path.as_uri(),
        class_archive=str(archive),
        spark_config={DRIVER_JAVA_OPTIONS: "-Dmine=1"},
    )
    collector = " ".join(LONG_RUN_JAVA_OPTIONS)
    assert build_spark_conf(resource)[DRIVER_JAVA_OPTIONS] == f"{collector} -Dmine=1"
    assert mapped_class_archive(build_spark_conf(resource)) is None
    archive.write_bytes(b"built")
    conf = build_spark_conf(resource)
    assert conf[DRIVER_JAVA_OPTIONS] == f"-XX:SharedArchiveFile={archive} {collector} -Dmine=1"
    assert mapped_class_archive(conf) == str(archive)


def test_archive_setting(tmp_path: Path) -> None:
    default = load_settings({}).jvm_archive
    assert default is not None
    assert Path(default).parent.name == "jvm"
    assert Path(default).name.startswith(ARCHIVE_PREFIX)
    assert load_settings({"AQI_JVM_ARCHIVE": "off"}).jvm_archive is None
    chosen = tmp_path / "mine.jsa"
    assert load_settings({"AQI_JVM_ARCHIVE": str(chosen)}).jvm_archive == str(chosen)
    # Another Iceberg jar on the driver's class path needs an archive of its own.
    other_jar = load_settings({"AQI_ICEBERG_JAR": str(tmp_path / "iceberg.jar")}).jvm_archive
    assert other_jar is not None
    assert other_jar != default


def test_failed_workload_leaves_no_archive(tmp_path: Path) -> None:
    target = tmp_path / "archive" / "driver.jsa"
    result = run_python(
        f"""
        from pathlib import Path
        from resources.spark.jvm_archive import build_archive
        from resources.spark.spark_resource import DRIVER_JAVA_OPTIONS, SparkIcebergResource

        def workload(option):
            spark = SparkIcebergResource(
                warehouse={(tmp_path / "wh").as_uri()!r},
                ui_enabled=False,
                spark_config={{DRIVER_JAVA_OPTIONS: option}},
            ).spark_session
            spark.range(3).count()
            raise ValueError("workload broke")

        try:
            build_archive(Path({str(target)!r}), workload)
        except ValueError as exc:
            print("raised:", exc)
        """
    )
    assert "raised: workload broke" in result.stdout, result.stderr[-2000:]
    assert list(target.parent.iterdir()) == []


def test_built_archive_is_mapped_by_the_next_driver(tmp_path: Path) -> None:
    archive = tmp_path / "driver.jsa"
    built = aqi_jvm_archive(archive, timeout=900)
    assert built.returncode == 0, built.stderr[-3000:]
    assert archive.stat().st_size > 10 * 2**20
    assert [p.name for p in tmp_path.iterdir()] == ["driver.jsa"]

    class_log = tmp_path / "classes.log"
    used = run_python(
        f"""
        from resources.spark.spark_resource import DRIVER_JAVA_OPTIONS, SparkIcebergResource

        spark = SparkIcebergResource(
            warehouse={(tmp_path / "wh").as_uri()!r},
            ui_enabled=False,
            class_archive={str(archive)!r},
            spark_config={{DRIVER_JAVA_OPTIONS: "-Xlog:class+load=info:file={class_log}"}},
        ).spark_session
        spark.sql("CREATE TABLE lh.db.t (id bigint) USING iceberg")
        spark.range(5).writeTo("lh.db.t").append()
        print("rows:", spark.table("lh.db.t").count())
        """
    )
    assert "rows: 5" in used.stdout, used.stderr[-3000:]
    lines = class_log.read_text().splitlines()
    mapped = [line for line in lines if FROM_ARCHIVE in line]
    assert len(mapped) > 1000, f"{len(mapped)} of {len(lines)} classes came from the archive"
    assert any(" org.apache.spark.sql.SparkSession " in line for line in mapped)
    # Iceberg's too: its jar is on the driver's own class path, not only in spark.jars.
    assert any(" org.apache.iceberg.spark.SparkCatalog " in line for line in mapped)


def test_existing_archive_is_kept(tmp_path: Path) -> None:
    archive = tmp_path / "driver.jsa"
    archive.write_bytes(b"already built")
    done = aqi_jvm_archive(archive, timeout=120)
    assert done.returncode == 0
    assert "up to date" in done.stderr
    assert archive.read_bytes() == b"already built"


def test_a_new_default_archive_replaces_the_stale_ones(tmp_path: Path) -> None:
    from aqi_assets.dev.build_jvm_archive import remove_stale_archives

    current = tmp_path / f"{ARCHIVE_PREFIX}new.jsa"
    for name in (f"{ARCHIVE_PREFIX}old.jsa", current.name, "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    remove_stale_archives(current)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([current.name, "notes.txt"])
