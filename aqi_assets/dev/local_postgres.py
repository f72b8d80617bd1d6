"""A throwaway PostgreSQL server (Debian's `postgresql` binaries) for tests and benchmarks.

`initdb` + `pg_ctl` in a temporary folder, listening on a free loopback port, password
authentication over TCP, as the production instance connects. PostgreSQL refuses to run as
root, so under root the server runs as the `postgres` user that Debian's package creates.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg2
from psycopg2 import sql

from aqi_assets.dev.dagster_dev import free_port

DEBIAN_BIN_GLOB = "/usr/lib/postgresql/*/bin"
SERVER_USER = "postgres"
INSTALL_HINT = "install Debian's PostgreSQL server: apt-get install -y postgresql"


def server_bin_dir() -> Path:
    """The folder holding `initdb` and `pg_ctl`: from PATH, else Debian's newest version."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    candidates = [p for p in Path("/").glob(DEBIAN_BIN_GLOB.lstrip("/")) if (p / "pg_ctl").exists()]
    if not candidates:
        raise RuntimeError(
            f"PostgreSQL server binaries (initdb, pg_ctl) are not on PATH nor under "
            f"{DEBIAN_BIN_GLOB}: {INSTALL_HINT}"
        )
    return max(candidates, key=lambda p: int(p.parent.name.split(".")[0]))


def server_account() -> pwd.struct_passwd | None:
    """The account the server runs as: None (this user) unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise RuntimeError(
            f"PostgreSQL refuses to run as root and there is no '{SERVER_USER}' user: "
            f"{INSTALL_HINT} (it creates the user), or run as a non-root user"
        ) from None


class LocalPostgres:
    """`with LocalPostgres() as pg: pg.env(pg.create_database("x"))` — a running server."""

    def __init__(self, user: str = "aqi", password: str = "aqi-local") -> None:
        self.user = user
        self.password = password
        self.host = "127.0.0.1"
        self.port = free_port()
        self.root: Path | None = None

    def _run(self, *args: str | Path) -> None:
        """Run a server binary as the server account; fail with its output."""
        account = server_account()
        ids = {"user": account.pw_uid, "group": account.pw_gid} if account else {}
        done = subprocess.run(
            [str(a) for a in args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=120,
            check=False,
            **ids,
        )
        if done.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{Path(args[0]).name} failed: {done.stdout[-2000:]}{log}")

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def start(self) -> LocalPostgres:
        """initdb a fresh cluster and start it; returns once it accepts connections."""
        bin_dir = server_bin_dir()
        # Under /tmp rather than pytest's private (0700) folder, so the server account can enter.
        self.root = Path(tempfile.mkdtemp(prefix="aqi-postgres-"))
        password_file = self.root / "password"
        password_file.write_text(self.password + "\n")
        account = server_account()
        if account:
            for path in (self.root, password_file):
                os.chown(path, account.pw_uid, account.pw_gid)
        data = self.root / "data"
        self._run(
            bin_dir / "initdb",
            "-D", data, "-U", self.user, f"--pwfile={password_file}",
            "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        options = f"-p {self.port} -k {self.root} -c listen_addresses={self.host}"
        self._run(bin_dir / "pg_ctl", "-D", data, "-l", self.log, "-o", options, "-w", "start")
        return self

    def connect(self, database: str = "postgres") -> psycopg2.extensions.connection:
        """A connection over TCP with the password, as Dagster connects."""
        return psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=database,
        )

    def create_database(self, name: str) -> str:
        """A new empty database; returns its name."""
        conn = self.connect()
        try:
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return name

    def set_database_option(self, database: str, name: str, value: str) -> None:
        """`ALTER DATABASE database SET name = value`: every later session starts with it."""
        conn = self.connect()
        try:
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(
                    sql.SQL("ALTER DATABASE {} SET {} = {}").format(
                        sql.Identifier(database), sql.Identifier(name), sql.Literal(value)
                    )
                )
        finally:
            conn.close()

    def env(self, database: str) -> dict[str, str]:
        """The connection variables deploy/dagster-postgres.yaml reads."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USER": self.user,
            "DAGSTER_PG_PASSWORD": self.password,
            "DAGSTER_PG_DB": database,
        }

    def jdbc_uri(self, database: str) -> str:
        """`database` as an Iceberg JDBC catalog URI (AQI_CATALOG_URI), credentials included."""
        return (
            f"jdbc:postgresql://{self.host}:{self.port}/{database}"
            f"?user={self.user}&password={self.password}"
        )

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are ended) and remove its folder."""
        if self.root is None:
            return
        if (self.root / "data" / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError):
                self._run(
                    server_bin_dir() / "pg_ctl", "-D", self.root / "data", "-m", "fast", "stop"
                )
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
