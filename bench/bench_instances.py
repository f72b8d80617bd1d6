"""The Dagster instances `backfill_bench --instances` compares: their instance files and environment.

The project's two instance files as shipped (`project`: dagster.yaml, `postgres`:
deploy/dagster-postgres.yaml), Dagster's stock storages (`stock-sqlite`, `postgres-stock`: the
production file with dagster-postgres' own `storage: postgres`), and the stock PostgreSQL instance
with one public setting at a time, so each route is measured on its own (docs/performance.md,
"PostgreSQL instance bookkeeping").
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from aqi_assets.dev.local_postgres import LocalPostgres

ROOT = Path(__file__).resolve().parents[1]
LOCAL_INSTANCE = ROOT / "dagster.yaml"
POSTGRES_INSTANCE = ROOT / "deploy" / "dagster-postgres.yaml"
BATCH = {"DAGSTER_EVENT_BATCH_SIZE": "1000"}
# One planned event per asset and run instead of one per partition (Dagster's public switch).
SUBSET = {"DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true"}
# Stock dagster-postgres variants: (environment of every Dagster process, synchronous_commit off
# for the Dagster database).
STOCK_POSTGRES_ROUTES: dict[str, tuple[dict[str, str], bool]] = {
    "postgres-stock": ({}, False),
    "postgres-batch": (BATCH, False),
    "postgres-async": ({}, True),
    "postgres-batch-async": (BATCH, True),
    "postgres-subset": (SUBSET, False),
}
INSTANCES = ("project", "stock-sqlite", "postgres", *STOCK_POSTGRES_ROUTES)


def postgres_db_block(config: dict[str, Any]) -> dict[str, Any]:
    """The connection block of a PostgreSQL instance file, `storage: postgres` or `custom`."""
    storage = config["storage"]
    if "postgres" in storage:
        return storage["postgres"]["postgres_db"]
    return storage["custom"]["config"]["postgres_db"]


def stock_postgres_file(work: Path) -> Path:
    """The production instance file with dagster-postgres' own storage, as Dagster ships it."""
    config = yaml.safe_load(POSTGRES_INSTANCE.read_text())
    config["storage"] = {"postgres": {"postgres_db": postgres_db_block(config)}}
    path = work / "postgres-stock.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@contextlib.contextmanager
def instance_setup(name: str, work: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """The instance file of one --instances choice and the environment it needs."""
    if name == "project":
        yield LOCAL_INSTANCE, {}
    elif name == "stock-sqlite":
        config = yaml.safe_load(LOCAL_INSTANCE.read_text())
        config.pop("event_log_storage", None)
        path = work / "stock-sqlite.yaml"
        path.write_text(yaml.safe_dump(config))
        yield path, {}
    else:
        with LocalPostgres() as server:
            database = server.create_database("dagster")
            env = server.env(database)
            if name == "postgres":
                yield POSTGRES_INSTANCE, env
                return
            route_env, asynchronous = STOCK_POSTGRES_ROUTES[name]
            if asynchronous:
                server.set_database_option(database, "synchronous_commit", "off")
            yield stock_postgres_file(work), {**env, **route_env}
