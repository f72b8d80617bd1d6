"""`dagster dev` (webserver + daemon) as a child process, for end-to-end tests and benchmarks.

The process runs in its own process group on a free loopback port with a scratch DAGSTER_HOME;
`stop()` kills the whole group (`dagster dev` ignores SIGTERM/SIGINT in some environments, and its
daemon and code server children must go too).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import requests

from aqi_assets.cli.graphql_queries import DagsterApi
from aqi_assets.orchestration.jobs import LAKEHOUSE_JOB
from resources.spark.run_tags import PARTITION_TAG

PROJECT_ROOT = Path(__file__).resolve().parents[2]


FINAL_STATUSES = (
    dg.DagsterRunStatus.SUCCESS,
    dg.DagsterRunStatus.FAILURE,
    dg.DagsterRunStatus.CANCELED,
)


def launch_partition_run(url: str, partition: str, asset_keys: list[str]) -> str:
    """Launch one run of `asset_keys` for one partition (what the hourly automation requests)."""
    return DagsterApi(url).launch_run(LAKEHOUSE_JOB, asset_keys, {PARTITION_TAG: partition})


def wait_for_run(url: str, run_id: str, timeout: float = 900) -> str:
    """Final status of a run (SUCCESS, FAILURE or CANCELED)."""
    api = DagsterApi(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = api.run_status(run_id)
        if status in FINAL_STATUSES:
            return status.value
        time.sleep(0.5)
    raise TimeoutError(f"run {run_id} did not finish in {timeout}s")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DagsterDev:
    """`with DagsterDev(workdir, env) as ui: ui.url` — the UI is up and has loaded the assets.

    The instance is configured by `instance_config` (the project's SQLite dagster.yaml by default).
    """

    def __init__(
        self,
        workdir: Path,
        env: dict[str, str],
        startup_timeout: float = 300,
        instance_config: Path = PROJECT_ROOT / "dagster.yaml",
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.home = workdir / "dagster_home"
        self.log = workdir / "dagster.log"
        self.workdir = workdir
        self.env = {**os.environ, **env, "DAGSTER_HOME": str(self.home)}
        self.startup_timeout = startup_timeout
        self.instance_config = instance_config
        self.process: subprocess.Popen | None = None

    def start(self) -> DagsterDev:
        """Start `dagster dev` and wait until the code location has loaded its assets."""
        self.home.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.instance_config, self.home / "dagster.yaml")
        dagster = Path(sys.executable).parent / "dagster"
        workspace = PROJECT_ROOT / "workspace.yaml"
        command = [str(dagster), "dev", "-w", str(workspace), "-h", "127.0.0.1", "-p"]
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [*command, str(self.port)],
                env=self.env,
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_for_assets()
        return self

    def _wait_for_assets(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        query = {"query": "query { assetNodes { id } }"}
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"dagster dev exited with {self.process.returncode}: {self.log_tail()}"
                )
            try:
                body = requests.post(f"{self.url}/graphql", json=query, timeout=5).json()
                if (body.get("data") or {}).get("assetNodes"):
                    return
            except (requests.RequestException, ValueError):
                pass
            time.sleep(1)
        self.stop()
        raise RuntimeError(f"dagster dev not up after {self.startup_timeout}s: {self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the webserver/daemon log."""
        return self.log.read_text()[-chars:] if self.log.exists() else ""

    def stop(self) -> None:
        """Kill the whole process group (webserver, daemon, code servers, run workers)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=60)

    def __enter__(self) -> DagsterDev:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
