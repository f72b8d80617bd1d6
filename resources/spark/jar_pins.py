"""The jars Spark loads, by Maven coordinates and pinned SHA-256, and the checks of their copies.

The Iceberg Spark runtime and the JDBC drivers come from Maven Central by these coordinates,
fetched once into the project folder's `.cache/jars/` by `python -m resources.spark.jar_fetch` (the
README's install step, scripts/_bootstrap.sh, runs it) and read from there offline afterwards.
The checksum pinned here, not one downloaded beside the jar, is what makes a copy trusted: to
move to another version, change its version, sha256 and size together (Maven Central publishes
`<jar>.sha256` next to each jar; check it against a second source before pinning).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

FETCH_COMMAND = ".venv/bin/python -m resources.spark.jar_fetch"
JAR_DIR_ENV = "AQI_JAR_DIR"
STAMP_SUFFIX = ".verified"
CHUNK_BYTES = 1 << 20


class JarError(RuntimeError):
    """A pinned jar is missing or is not the pinned file; the message says what to run."""


@dataclass(frozen=True)
class JarPin:
    """One jar of Maven Central: its coordinates and the SHA-256 and size of the pinned file."""

    group: str
    artifact: str
    version: str
    sha256: str
    size: int

    @property
    def coordinates(self) -> str:
        """group:artifact:version, as `spark.jars.packages` and `mvn dependency:get` read it."""
        return f"{self.group}:{self.artifact}:{self.version}"

    @property
    def file_name(self) -> str:
        """The jar's name in the repository and in the cache."""
        return f"{self.artifact}-{self.version}.jar"

    @property
    def repository_path(self) -> str:
        """The jar's path under a Maven repository's root (Maven's standard layout)."""
        return f"{self.group.replace('.', '/')}/{self.artifact}/{self.version}/{self.file_name}"


# The same file the snowpark-connect-deps-iceberg 1.0.2 wheel shipped until this pin replaced it.
ICEBERG_RUNTIME = JarPin(
    "org.apache.iceberg",
    "iceberg-spark-runtime-3.5_2.12",
    "1.10.2",
    "c562d482dcd16b666e808b755469fbc4b2604284b41622c9d87e2c02b7cc6c5f",
    47_157_008,
)
POSTGRESQL_JDBC = JarPin(
    "org.postgresql",
    "postgresql",
    "42.7.14",
    "73914527305a40cce504b0d3d90b23caf565136912d607ae8ae7c5895512332c",
    1_221_004,
)
SQLITE_JDBC = JarPin(
    "org.xerial",
    "sqlite-jdbc",
    "3.54.1.0",
    "f8dce420a6016278497f4f0560f65602b9db858de141b541cf91a4644ebe4639",
    12_132_578,
)
# For a JDBC Iceberg catalog (AQI_CATALOG_TYPE=jdbc): on the class path only then.
JDBC_DRIVERS = (POSTGRESQL_JDBC, SQLITE_JDBC)
PINS = (ICEBERG_RUNTIME, *JDBC_DRIVERS)


def default_jar_dir() -> Path:
    """AQI_JAR_DIR, else `.cache/jars` of the source checkout holding this package, else of
    AQI_HOME (or ~/.aqi-lakehouse) for an install from a wheel.

    The jars belong to the installation, like its .venv: a process pointing AQI_HOME at another
    folder for its reports and ledger (the tests do) still finds them.
    """
    if os.environ.get(JAR_DIR_ENV):
        return Path(os.environ[JAR_DIR_ENV]).expanduser().resolve()
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file():
        home = checkout
    elif os.environ.get("AQI_HOME"):
        home = Path(os.environ["AQI_HOME"]).expanduser().resolve()
    else:
        home = Path.home() / ".aqi-lakehouse"
    return home / ".cache" / "jars"


def sha256_of(path: Path) -> str:
    """The SHA-256 of the file at `path`, read in chunks (the runtime jar is 45 MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + STAMP_SUFFIX)


def _signature(pin: JarPin, path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size} {stat.st_mtime_ns} {pin.sha256}\n"


def check_jar(pin: JarPin, path: Path, trust_stamp: bool = True) -> None:
    """Raise JarError unless `path` holds exactly the pinned file.

    Hashing the runtime jar takes a tenth of a second, and every run process would pay it: once
    a copy has been hashed, a stamp beside it records its size and modification time, and a copy
    that still has both is not hashed again (`trust_stamp=False` always hashes). A copy that was
    replaced, truncated or rewritten has a new modification time and is hashed again.
    """
    if not path.is_file():
        raise JarError(
            f"{pin.file_name} ({pin.coordinates}) is missing from {path.parent}: run "
            f"`{FETCH_COMMAND}` (scripts/dev and scripts/test run it) once with access to "
            "Maven Central, or copy the jar there."
        )
    try:
        if trust_stamp and _stamp(path).read_text() == _signature(pin, path):
            return
    except OSError:
        pass  # no stamp yet, or unreadable: hash the file
    size = path.stat().st_size
    actual = sha256_of(path) if size == pin.size else None
    if actual != pin.sha256:
        found = f"sha256 {actual}" if actual else f"{size} bytes, not {pin.size}"
        raise JarError(
            f"{path} is not the pinned {pin.coordinates} ({found}; pinned sha256 {pin.sha256}): "
            f"the copy is damaged or another file. Run `{FETCH_COMMAND}` to download it again."
        )
    # A read-only install keeps no stamp: the next process hashes the jar again, nothing worse.
    with contextlib.suppress(OSError):
        _stamp(path).write_text(_signature(pin, path))


def pinned_jar(pin: JarPin, directory: Path | None = None) -> Path:
    """The checked copy of `pin` in `directory` (default: default_jar_dir()), else JarError."""
    path = (directory or default_jar_dir()) / pin.file_name
    check_jar(pin, path)
    return path
