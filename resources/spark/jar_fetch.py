"""Fetch the pinned jars (resources/spark/jar_pins.py) from Maven Central into the project folder.

    python -m resources.spark.jar_fetch [--dir DIR]

Needs Python alone (no Maven, no Spark): each jar is one HTTPS GET in Maven's repository layout,
checked against its pinned SHA-256 before it is renamed into place. A jar already there with
the pinned checksum is kept without any network access, so after the first run this works
offline. `https_proxy` is honoured; AQI_MAVEN_REPOSITORY points at a mirror (a Nexus or
Artifactory proxy of Maven Central) instead.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path

from resources.spark.jar_pins import (
    FETCH_COMMAND,
    PINS,
    JarError,
    JarPin,
    check_jar,
    default_jar_dir,
    sha256_of,
)

MAVEN_CENTRAL = "https://repo.maven.apache.org/maven2"
REPOSITORY_ENV = "AQI_MAVEN_REPOSITORY"
TIMEOUT_SECONDS = 60.0

# Writes the body at a URL into a file; tests pass their own to prove when it is (not) called.
Downloader = Callable[[str, Path], None]


def http_download(url: str, target: Path) -> None:
    """GET `url` into `target` (streamed: the runtime jar is 45 MB)."""
    with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response, target.open("wb") as out:
        shutil.copyfileobj(response, out)


def repository_url() -> str:
    """The Maven repository's root: AQI_MAVEN_REPOSITORY, else Maven Central."""
    return (os.environ.get(REPOSITORY_ENV) or MAVEN_CENTRAL).rstrip("/")


def fetch_jar(
    pin: JarPin,
    directory: Path,
    download: Downloader = http_download,
    repository: str | None = None,
) -> tuple[Path, bool]:
    """The checked copy of `pin` in `directory`, downloaded only when missing or damaged.

    Returns the path and whether it was downloaded. Raises JarError, saying what to do, when
    the download fails or serves another file; the directory then holds no partial file.
    """
    path = directory / pin.file_name
    if path.is_file():
        try:
            check_jar(pin, path, trust_stamp=False)
            return path, False
        except JarError:
            pass  # damaged: replaced below
    url = f"{repository or repository_url()}/{pin.repository_path}"
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / f".{pin.file_name}.{os.getpid()}.partial"
    try:
        try:
            download(url, partial)
        except OSError as exc:  # urllib's URLError and HTTPError are OSErrors
            raise JarError(
                f"Cannot download {pin.coordinates} from {url} ({exc}). Run `{FETCH_COMMAND}` "
                f"again with access to Maven Central (https_proxy is honoured, {REPOSITORY_ENV} "
                f"names a mirror), or copy {pin.file_name} (sha256 {pin.sha256}) into {directory}."
            ) from None
        actual = sha256_of(partial)
        if actual != pin.sha256:
            raise JarError(
                f"{url} served a file with sha256 {actual}, not the pinned {pin.sha256} of "
                f"{pin.coordinates}; nothing was installed. Check the repository ({REPOSITORY_ENV}) "
                "or the proxy in between, then run "
                f"`{FETCH_COMMAND}` again."
            )
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    check_jar(pin, path)  # writes the stamp that spares the runs hashing it again
    return path, True


def fetch_jars(
    directory: Path,
    pins: Iterable[JarPin] = PINS,
    download: Downloader = http_download,
    repository: str | None = None,
) -> list[tuple[Path, bool]]:
    """fetch_jar for each of `pins`: every jar checked, the missing or damaged ones downloaded."""
    return [fetch_jar(pin, directory, download, repository) for pin in pins]


def main(argv: list[str] | None = None) -> int:
    """Command line: make every pinned jar present and intact; the process exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m resources.spark.jar_fetch",
        description="Fetch the pinned Iceberg runtime and JDBC driver jars from Maven Central.",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="target folder (default: AQI_JAR_DIR, else the project folder's .cache/jars)",
    )
    args = parser.parse_args(argv)
    directory = args.dir or default_jar_dir()
    try:
        results = fetch_jars(directory)
    except JarError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    for path, downloaded in results:
        if downloaded:
            sys.stderr.write(f"downloaded {path.name} into {directory} (sha256 checked)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
