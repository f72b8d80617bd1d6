"""Build the Hadoop test cluster's Java launcher (tools/minicluster) once: Maven compiles it and
fetches its jars from Maven Central into the local Maven repository (~/.m2, or
`-Dmaven.repo.local` in MAVEN_ARGS)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TOOL = PROJECT_ROOT / "tools" / "minicluster"
SOURCE = TOOL / "src" / "main" / "java" / "aqi" / "minicluster" / "Launcher.java"
CLASSES = TOOL / "target" / "classes"
CLASSPATH_FILE = TOOL / "target" / "classpath.txt"
# Hadoop 3.3's web apps reflect into the JDK (Guice, Jersey 1) on Java 17.
JVM_OPTIONS = [
    "-Xmx512m",
    "-XX:+UseSerialGC",
    *(
        f"--add-opens=java.base/{package}=ALL-UNNAMED"
        for package in ("java.lang", "java.util", "java.lang.reflect", "java.net", "java.io")
    ),
]


class MiniClusterError(RuntimeError):
    """The test cluster could not be built or started; the message says what to do."""


def java_home() -> str:
    """JAVA_HOME, else the JDK of `java` on PATH (NodeManager containers start `$JAVA_HOME/bin/java`)."""
    if os.environ.get("JAVA_HOME"):
        return os.environ["JAVA_HOME"]
    java = shutil.which("java")
    if java is None:
        raise MiniClusterError("Java 17 is needed for the Hadoop test cluster: install a JDK 17.")
    return str(Path(java).resolve().parents[1])


def _built() -> bool:
    launcher = CLASSES / "aqi" / "minicluster" / "Launcher.class"
    if not (launcher.is_file() and CLASSPATH_FILE.is_file()):
        return False
    if launcher.stat().st_mtime < SOURCE.stat().st_mtime:
        return False
    if CLASSPATH_FILE.stat().st_mtime < (TOOL / "pom.xml").stat().st_mtime:
        return False
    return all(Path(jar).is_file() for jar in CLASSPATH_FILE.read_text().strip().split(":"))


def build(timeout: float = 900) -> str:
    """Compile the launcher and fetch its jars once (Maven); the Java classpath to run it."""
    if not _built():
        mvn = shutil.which("mvn")
        if mvn is None:
            raise MiniClusterError(
                "Maven is needed to fetch the Hadoop test cluster's jars: apt-get install maven."
            )
        command = [mvn, "-B", "-q", "-f", str(TOOL / "pom.xml"), "compile"]
        command += shlex.split(os.environ.get("MAVEN_ARGS", ""))
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0 or not _built():
            raise MiniClusterError(
                f"Building tools/minicluster failed (Maven Central reachable?):\n"
                f"{(done.stdout + done.stderr)[-3000:]}"
            )
    return f"{CLASSES}:{CLASSPATH_FILE.read_text().strip()}"
