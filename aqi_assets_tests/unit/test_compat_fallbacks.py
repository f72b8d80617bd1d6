"""On a Dagster release other than the pinned one, each compat module imports, warns once naming
itself, and exposes its public fallback (stock SQLite and PostgreSQL storages, in-process executor,
no-op interval)."""

from __future__ import annotations

import json
import subprocess
import sys

COMPAT_MODULES = (
    "event_log_compat",
    "postgres_event_log_compat",
    "threaded_executor_compat",
    "backfill_interval_compat",
)

# Dagster's version is patched before any compat module is imported; every warning is recorded.
FALLBACK_PROBE = """
import json
import sys
import warnings

import dagster

dagster.__version__ = "0.0.1"
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    from aqi_assets.compat import (
        backfill_interval_compat,
        event_log_compat,
        postgres_event_log_compat,
        threaded_executor_compat,
    )
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster_postgres import DagsterPostgresStorage, PostgresEventLogStorage
from dagster._daemon import controller  # loaded, as in the daemon: the pinned release sets it

storage = event_log_compat.BatchedSqliteEventLogStorage
interval_before = controller.DEFAULT_DAEMON_INTERVAL_SECONDS
returned = backfill_interval_compat.set_backfill_interval(interval_before + 1)
json.dump(
    {
        "warnings": [str(w.message) for w in caught if "aqi_assets.compat" in str(w.message)],
        "stock_event_log": storage.store_event_batch is SqliteEventLogStorage.store_event_batch
        and issubclass(storage, SqliteEventLogStorage),
        "stock_postgres": postgres_event_log_compat.BatchedPostgresStorage is DagsterPostgresStorage
        and postgres_event_log_compat.BatchedPostgresEventLogStorage is PostgresEventLogStorage,
        "in_process_executor": threaded_executor_compat.threaded_in_process_executor
        is dagster.in_process_executor,
        "interval_returns": returned,
        "interval_unchanged": controller.DEFAULT_DAEMON_INTERVAL_SECONDS == interval_before,
    },
    sys.stdout,
)
"""


def test_each_compat_module_falls_back_with_one_warning_naming_itself() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", FALLBACK_PROBE], capture_output=True, text=True, timeout=120
    )
    assert probe.returncode == 0, probe.stderr
    found = json.loads(probe.stdout)
    warned = found["warnings"]
    assert len(warned) == len(COMPAT_MODULES), warned
    for module in COMPAT_MODULES:
        naming = [w for w in warned if w.startswith(f"aqi_assets.compat.{module} ")]
        assert len(naming) == 1, (module, warned)
        assert "0.0.1" in naming[0]
    assert found["stock_event_log"] is True
    assert found["stock_postgres"] is True
    assert found["in_process_executor"] is True
    assert found["interval_returns"] is None
    assert found["interval_unchanged"] is True
