"""The production instance's storage: dagster-postgres with a batched, pooled event log.

`BatchedPostgresStorage` is Dagster's PostgreSQL storage (`storage: custom` in
deploy/dagster-postgres.yaml) whose event log, `BatchedPostgresEventLogStorage`, keeps a few
connections open per process instead of opening one per statement, and stores each batch of asset
events in one transaction with one multi-row INSERT. On a Dagster release other than the pinned
one both are the stock dagster-postgres classes (same records, slower). Why: docs/performance.md,
"PostgreSQL instance bookkeeping".
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from dagster_postgres import DagsterPostgresStorage, PostgresEventLogStorage

from aqi_assets.compat.dagster_release import is_pinned_release, warn_fallback

# Idle connections an event log keeps per process: the threaded executor writes from two steps
# at once, and writing an asset event's tags checks the schema on a second connection.
POOL_SIZE = 2
# Connections opened beyond the pool while it is busy; closed when returned.
MAX_OVERFLOW = 10
# A pooled connection older than this is replaced (servers and proxies drop idle sessions).
POOL_RECYCLE_SECONDS = 3600


if is_pinned_release():
    import sqlalchemy as db
    from dagster._core.events.log import EventLogEntry
    from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
    from dagster._serdes import ConfigurableClassData
    from dagster_postgres.utils import (
        create_pg_engine,
        get_token_provider_from_config,
        pg_url_from_config,
    )

    from aqi_assets.compat.event_log_compat import (
        BATCH_SIZE_VARIABLE,
        DEFAULT_BATCH_SIZE,
        CheckPlansSerializedOnce,
        asset_event_stretches,
        last_of_each_asset_and_type,
    )

    def pooled_engine(storage: PostgresEventLogStorage) -> db.engine.Engine:
        """The storage's engine with a small pool: Dagster's own opens a connection (TCP,
        password exchange, a server process) for every statement. Connections are checked before
        use, so a restarted server costs one reconnect, and never shared across a fork."""
        engine = create_pg_engine(
            storage.postgres_url,
            storage._token_provider,  # the token provider Dagster configured, if any
            isolation_level="AUTOCOMMIT",
            pool_size=POOL_SIZE,
            max_overflow=MAX_OVERFLOW,
            pool_recycle=POOL_RECYCLE_SECONDS,
            pool_pre_ping=True,
        )
        db.event.listen(engine, "connect", _remember_pid)
        db.event.listen(engine, "checkout", _refuse_inherited_connection)
        return engine

    def _remember_pid(_dbapi_connection: Any, record: Any) -> None:
        record.info["pid"] = os.getpid()

    def _refuse_inherited_connection(_dbapi_connection: Any, record: Any, proxy: Any) -> None:
        """A forked child must not talk on its parent's socket: the pool opens a new one."""
        if record.info.get("pid") != os.getpid():
            record.dbapi_connection = proxy.dbapi_connection = None
            raise db.exc.DisconnectionError("connection opened by another process")

    class BatchedPostgresEventLogStorage(CheckPlansSerializedOnce, PostgresEventLogStorage):
        """dagster-postgres' event log with pooled connections and asset events stored in batches.

        Dagster hands batches to a storage only when `DAGSTER_EVENT_BATCH_SIZE` is set, so every
        process that opens this storage (webserver, daemon, run workers) sets it unless it is set.
        """

        def __init__(self, postgres_url: str, *args: Any, **kwargs: Any) -> None:
            super().__init__(postgres_url, *args, **kwargs)
            stock_engine, self._engine = self._engine, pooled_engine(self)
            stock_engine.dispose()
            os.environ.setdefault(BATCH_SIZE_VARIABLE, DEFAULT_BATCH_SIZE)

        @classmethod
        def from_config_value(
            cls, inst_data: ConfigurableClassData | None, config_value: dict[str, Any]
        ) -> BatchedPostgresEventLogStorage:
            return cls(
                pg_url_from_config(config_value),
                config_value.get("should_autocreate_tables", True),
                inst_data=inst_data,
                token_provider=get_token_provider_from_config(config_value),
            )

        def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
            """Store a batch in order: each stretch of asset events of one run in one transaction."""
            for asset_events, stretch in asset_event_stretches(events):
                if asset_events:
                    self._store_asset_events(stretch)
                else:
                    super().store_event_batch(stretch)

        def _store_asset_events(self, events: list[EventLogEntry]) -> None:
            """What store_event does for each event (the row, its tags, the asset key table), in
            one transaction; the asset key table gets the last event of each asset and type."""
            rows = [self._event_to_row(event) for event in events]
            with self.index_transaction() as conn:
                inserted = SqlEventLogStorageTable.insert().returning(
                    SqlEventLogStorageTable.c.id, sort_by_parameter_order=True
                )
                event_ids = list(conn.execute(inserted, rows).scalars())
                self._store_asset_event_tags(conn, events, event_ids)
                for i in last_of_each_asset_and_type(rows):
                    self._store_asset_event(conn, events[i], event_ids[i])

        def dispose(self) -> None:
            super().dispose()
            self._engine.dispose()

    class BatchedPostgresStorage(DagsterPostgresStorage):
        """dagster-postgres' storage (runs, schedules as shipped) with the batched event log."""

        def __init__(
            self,
            postgres_url: str,
            should_autocreate_tables: bool = True,
            inst_data: ConfigurableClassData | None = None,
            token_provider: Any = None,
        ) -> None:
            super().__init__(postgres_url, should_autocreate_tables, inst_data, token_provider)
            self._event_log_storage.dispose()
            self._event_log_storage = BatchedPostgresEventLogStorage(
                postgres_url, should_autocreate_tables, token_provider=token_provider
            )

        @classmethod
        def from_config_value(  # ty: ignore[invalid-method-override]
            cls, inst_data: ConfigurableClassData | None, config_value: dict[str, Any]
        ) -> BatchedPostgresStorage:
            return cls(
                pg_url_from_config(config_value),
                config_value.get("should_autocreate_tables", True),
                inst_data=inst_data,
                token_provider=get_token_provider_from_config(config_value),
            )

else:
    warn_fallback(__name__, "the production event log is dagster-postgres' stock storage (slower)")
    BatchedPostgresEventLogStorage = PostgresEventLogStorage
    BatchedPostgresStorage = DagsterPostgresStorage
