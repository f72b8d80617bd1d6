"""A real Hadoop cluster on 127.0.0.1 for tests: HDFS (NameNode + DataNode) and YARN (one
ResourceManager, one NodeManager), from Apache Hadoop's own test clusters.

`tools/minicluster/` holds the Java launcher (built once by minicluster_build.py).
`MiniCluster` starts the daemons in their own process group, writes a HADOOP_CONF_DIR, and stops
them, with every YARN container, when the `with` block ends. Run it by hand with
`python -m aqi_assets.dev.minicluster WORKDIR` (prints the environment to use, Ctrl-C stops).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import pyspark
import requests

from aqi_assets.dev.minicluster_build import JVM_OPTIONS, MiniClusterError, build, java_home
from resources.spark.spark_conf import pinned_iceberg_jar


def _properties(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key: value for key, value in pairs}


class MiniCluster:
    """`with MiniCluster(workdir) as cluster: cluster.env()` — HDFS and YARN are up."""

    def __init__(self, workdir: Path, nm_memory_mb: int = 4096, nm_vcores: int = 4) -> None:
        self.workdir = workdir.resolve()
        self.conf_dir = self.workdir / "conf"
        self.nm_memory_mb = nm_memory_mb
        self.nm_vcores = nm_vcores
        self.processes: list[subprocess.Popen] = []
        self.info: dict[str, str] = {}

    @property
    def fs_uri(self) -> str:
        """hdfs://127.0.0.1:PORT of the NameNode."""
        return self.info["fs_uri"]

    @property
    def webhdfs_url(self) -> str:
        """http://127.0.0.1:PORT of the NameNode's WebHDFS."""
        return f"http://{self.info['webhdfs_address']}"

    @property
    def rm_url(self) -> str:
        """http://127.0.0.1:PORT of the ResourceManager's web app and REST API."""
        return f"http://{self.info['rm_webapp_address']}"

    def env(self) -> dict[str, str]:
        """What a Spark driver needs to find this cluster."""
        return {
            "HADOOP_CONF_DIR": str(self.conf_dir),
            "YARN_CONF_DIR": str(self.conf_dir),
            "JAVA_HOME": java_home(),
            "SPARK_LOCAL_IP": "127.0.0.1",
        }

    def profile_env(self, warehouse: str) -> dict[str, str]:
        """The code location's cluster profile (AQI_ENV=cluster) on this cluster.

        Small containers (one 512 MB executor) so runs fit a 2-core machine; Spark's and
        Iceberg's jars are read where they already are on the node (`local:`) instead of being
        uploaded to HDFS by every run, as docs/deployment.md recommends; the executors run the
        driver's own Python (same host).
        """
        spark_conf = {
            "spark.yarn.jars": f"local:{Path(pyspark.__file__).parent / 'jars'}/*",
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
        }
        return {
            **self.env(),
            "AQI_ENV": "cluster",
            "AQI_WAREHOUSE": warehouse,
            "AQI_YARN_QUEUE": "aqi",
            "AQI_DRIVER_MEMORY": "768m",
            "AQI_EXECUTOR_MEMORY": "512m",
            "AQI_EXECUTOR_CORES": "1",
            "AQI_MIN_EXECUTORS": "1",
            "AQI_MAX_EXECUTORS": "1",
            "AQI_SHUFFLE_PARTITIONS": "2",
            "AQI_ICEBERG_JAR": f"local:{pinned_iceberg_jar()}",
            "AQI_SPARK_CONF": json.dumps(spark_conf),
            "PYSPARK_PYTHON": sys.executable,
        }

    def rest(self, path: str) -> dict:
        """GET a ResourceManager REST resource as JSON, e.g. `cluster/apps/APP_ID`."""
        response = requests.get(f"{self.rm_url}/ws/v1/{path}", timeout=10)
        response.raise_for_status()
        return response.json()

    def applications(self) -> list[dict]:
        """Every application (id, state, finalStatus, queue, ...), oldest first."""
        apps = (self.rest("cluster/apps")["apps"] or {}).get("app", [])
        return sorted(apps, key=lambda app: int(app["startedTime"]))

    def application(self, app_id: str) -> dict:
        """One application's report."""
        return self.rest(f"cluster/apps/{app_id}")["app"]

    def running_nodes(self) -> list[dict]:
        """NodeManagers registered and RUNNING."""
        nodes = (self.rest("cluster/nodes")["nodes"] or {}).get("node", [])
        return [node for node in nodes if node["state"] == "RUNNING"]

    def container_logs(self, app_id: str) -> dict[str, str]:
        """stderr of each of the application's containers, by container id (the NodeManager
        keeps them on disk; the first container is the application master)."""
        app_logs = self.workdir / "nodemanager" / "logs" / app_id
        return {
            container.name: (container / "stderr").read_text(errors="replace")
            for container in sorted(app_logs.glob("container_*"))
            if (container / "stderr").is_file()
        }

    def start(self, timeout: float = 180) -> MiniCluster:
        """Build if needed, start both JVMs, wait until the NodeManager has registered."""
        classpath = build()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.conf_dir.mkdir(exist_ok=True)
        env = {**os.environ, "JAVA_HOME": java_home()}
        for name in ("HADOOP_CONF_DIR", "YARN_CONF_DIR", "CLASSPATH"):
            env.pop(name, None)
        java = str(Path(env["JAVA_HOME"]) / "bin" / "java")
        base = [java, *JVM_OPTIONS, "-cp", classpath, "aqi.minicluster.Launcher"]
        deadline = time.monotonic() + timeout
        try:
            self._spawn([*base, "cluster", str(self.workdir), str(self.conf_dir)], "cluster", env)
            self._wait_for(self.conf_dir / "cluster.properties", deadline)
            self.info = _properties(self.conf_dir / "cluster.properties")
            nodemanager = [str(self.nm_memory_mb), str(self.nm_vcores)]
            self._spawn(
                [*base, "nodemanager", str(self.workdir), str(self.conf_dir), *nodemanager],
                "nodemanager",
                env,
            )
            self._wait_for(self.conf_dir / "nodemanager.properties", deadline)
            while not self.running_nodes():
                self._check_alive()
                if time.monotonic() > deadline:
                    raise MiniClusterError("the NodeManager never registered with the RM")
                time.sleep(0.5)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, command: list[str], name: str, env: dict[str, str]) -> None:
        log: IO[bytes]
        with (self.workdir / f"{name}.log").open("wb") as log:
            # One process group for both JVMs, led by the first (same session as ours).
            group = self.processes[0].pid if self.processes else 0
            self.processes.append(
                subprocess.Popen(
                    command,
                    cwd=self.workdir,
                    env=env,
                    stdin=subprocess.PIPE,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    process_group=group,
                )
            )

    def _check_alive(self) -> None:
        for process, name in zip(self.processes, ("cluster", "nodemanager"), strict=False):
            if process.poll() is not None:
                raise MiniClusterError(
                    f"the {name} JVM exited with {process.returncode}: {self.log_tail(name)}"
                )

    def _wait_for(self, path: Path, deadline: float) -> None:
        while not path.is_file():
            self._check_alive()
            if time.monotonic() > deadline:
                raise MiniClusterError(f"the Hadoop test cluster did not write {path.name} in time")
            time.sleep(0.3)

    def log_tail(self, name: str, chars: int = 3000) -> str:
        """The end of one JVM's log (`cluster` or `nodemanager`)."""
        log = self.workdir / f"{name}.log"
        return log.read_text(errors="replace")[-chars:] if log.exists() else ""

    def container_pids(self) -> list[int]:
        """Processes running in a YARN container of this cluster (their folder is under ours).

        The NodeManager starts each container in a session of its own, so they are not in our
        process group.
        """
        pids = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit() or int(proc.name) == os.getpid():
                continue
            with contextlib.suppress(OSError):
                if Path(os.readlink(proc / "cwd")).is_relative_to(self.workdir / "nodemanager"):
                    pids.append(int(proc.name))
        return pids

    def stop(self, timeout: float = 60) -> None:
        """Close the JVMs' input (the NodeManager stops its containers), then make sure."""
        for process in reversed(self.processes):
            with contextlib.suppress(OSError, ValueError):
                process.stdin.close()
        deadline = time.monotonic() + timeout
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        if self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.processes[0].pid, signal.SIGKILL)
            for process in self.processes:
                process.wait(timeout=30)
        for pid in self.container_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.processes = []

    def __enter__(self) -> MiniCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    """Start a cluster in WORKDIR and keep it up until Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--nm-memory-mb", type=int, default=4096)
    parser.add_argument("--nm-vcores", type=int, default=4)
    args = parser.parse_args()
    with MiniCluster(args.workdir, args.nm_memory_mb, args.nm_vcores) as cluster:
        for key, value in cluster.env().items():
            print(f"export {key}={value}")
        print(f"# HDFS {cluster.fs_uri} (WebHDFS {cluster.webhdfs_url}), YARN {cluster.rm_url}")
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()


if __name__ == "__main__":
    main()
