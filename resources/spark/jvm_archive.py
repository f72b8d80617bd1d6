"""Class-data-sharing archive of the Spark driver JVM: its classes mapped from one file at start.

A Spark driver loads, parses and verifies thousands of classes before and during its first
queries; an hourly run pays that every time, in every run worker. Java 17 can write the classes a
JVM loaded into an archive at exit (`-XX:ArchiveClassesAtExit`) and map them at the next start
(`-XX:SharedArchiveFile`); docs/performance.md has what it saves.

An archive belongs to one JDK build, one Spark installation and the Iceberg jar on the driver's
class path: its file name carries a key of the three, so a new JDK, Spark or Iceberg looks for a
new archive instead of offering the JVM one it rejects.
The JVM validates the archive itself and runs without it (one warning line) when it does not
fit. A half-written archive would crash it instead, so archives are written under a temporary
name and renamed only once the JVM that wrote them has exited.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import pyspark

from resources.spark.pyspark_compat import stop_driver_jvm
from resources.spark.spark_conf import java_version_text

ARCHIVE_PREFIX = "spark-driver-"
JVM_EXIT_TIMEOUT_SECONDS = 300.0
# Classes the JVM cannot archive (generated, from signed jars) are each reported; not worth a line.
QUIET_DUMP = "-Xlog:cds=off -Xlog:cds+dynamic=off"


class ArchiveBuildError(RuntimeError):
    """The archive could not be written; the message says why. No archive is left behind."""


def archive_key(class_path: Sequence[str] = ()) -> str:
    """A short key of the JDK build, the Spark installation and the driver's extra class path."""
    executable, version = java_version_text()
    material = "\n".join(
        [os.path.realpath(executable), version, pyspark.__version__, pyspark.__file__, *class_path]
    )
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def default_archive_path(home: Path, class_path: Sequence[str] = ()) -> Path:
    """Where the archive of this JDK, Spark and driver class path lives under the project home."""
    return home / ".cache" / "jvm" / f"{ARCHIVE_PREFIX}{archive_key(class_path)}.jsa"


def build_archive(target: Path, workload: Callable[[str], None]) -> Path:
    """Write the driver archive at `target` from the classes `workload` makes a fresh JVM load.

    `workload(java_option)` must start the process's first SparkSession with `java_option` among
    its driver Java options and run representative queries; this function then stops the JVM,
    waits for it to write the archive, and renames it into place.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    try:
        try:
            workload(f"-XX:ArchiveClassesAtExit={partial} {QUIET_DUMP}")
        finally:
            # Also after a failed workload: its JVM would otherwise write the file at exit later.
            # PySpark leaves the JVM running until Python exits, and the archive is written at
            # the JVM's exit, so wait for it before renaming.
            code = stop_driver_jvm(JVM_EXIT_TIMEOUT_SECONDS)
        if code != 0 or not partial.is_file() or partial.stat().st_size == 0:
            raise ArchiveBuildError(
                f"The Spark driver JVM exited with code {code} without writing {partial}; "
                "runs keep starting without an archive."
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target
