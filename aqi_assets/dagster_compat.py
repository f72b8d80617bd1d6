"""Dagster internals the project uses, for the pinned Dagster release only (one module per library).

`BatchedSqliteEventLogStorage` is the local instance's event log (dagster.yaml): Dagster's SQLite
storage writing each batch of asset events in one transaction per shard instead of one per
event, and a partitioned check's planned rows with the event serialized once; it records the
same rows as the stock storage. It subclasses private Dagster classes, so it exists only on the
Dagster release it was written and tested against. On any other release this module warns once
and the same name is Dagster's stock SQLite event log: slower backfills, the same records.
Why it is kept: docs/performance.md, "Event log storage".
"""

from __future__ import annotations

import itertools
import os
import warnings
from collections.abc import Sequence
from typing import Any

import dagster
from dagster import Field, StringSource
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._serdes import ConfigurableClassData

PINNED_DAGSTER = "1.13.27"
BATCH_SIZE_VARIABLE = "DAGSTER_EVENT_BATCH_SIZE"
DEFAULT_BATCH_SIZE = "1000"


def default_base_dir() -> str:
    """Where Dagster's default SQLite instance keeps its event shards: $DAGSTER_HOME/history/runs/."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        raise ValueError(
            "BatchedSqliteEventLogStorage needs a base_dir: set DAGSTER_HOME (scripts/dev does) "
            "or give event_log_storage.config.base_dir in dagster.yaml"
        )
    return os.path.join(home, "history", "runs", "")


class ConfiguredSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's stock SQLite event log whose base_dir defaults to $DAGSTER_HOME/history/runs/."""

    @classmethod
    def config_type(cls) -> dict[str, Field]:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: dict[str, Any]
    ) -> ConfiguredSqliteEventLogStorage:
        return cls(config_value.get("base_dir") or default_base_dir(), inst_data=inst_data)


if dagster.__version__ == PINNED_DAGSTER:
    from dagster._core.events import ASSET_EVENTS
    from dagster._core.events.log import EventLogEntry
    from dagster._core.storage.asset_check_execution_record import (
        AssetCheckExecutionRecordStatus,
    )
    from dagster._core.storage.event_log.schema import (
        AssetCheckExecutionsTable,
        SqlEventLogStorageTable,
    )
    from dagster._serdes import serialize_value

    class BatchedSqliteEventLogStorage(ConfiguredSqliteEventLogStorage):
        """SQLite event log storage that stores a batch of asset events in one transaction per shard.

        Dagster only hands batches to a storage when `DAGSTER_EVENT_BATCH_SIZE` is set. Each process
        that opens this storage writes events (webserver, daemon, run workers), so the storage turns
        batching on for its own process unless the variable is already set.
        """

        def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
            super().__init__(base_dir, inst_data=inst_data)
            os.environ.setdefault(BATCH_SIZE_VARIABLE, DEFAULT_BATCH_SIZE)

        def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
            """Store a batch in order: each stretch of asset events of one run in one go per shard."""
            for (asset_events, _run_id), stretch in itertools.groupby(events, key=_stretch_key):
                if asset_events:
                    self._store_asset_events(list(stretch))
                else:
                    super().store_event_batch(list(stretch))

        def _store_asset_events(self, events: list[EventLogEntry]) -> None:
            """What store_event does for each event, with one serialization and one transaction per shard.

            The asset key table keeps one row per asset that each event overwrites with the columns
            of its event type, so only the last event of each asset and type decides its content.
            """
            rows = [self._event_to_row(event) for event in events]
            with self.run_connection(events[0].run_id) as conn:
                conn.execute(SqlEventLogStorageTable.insert(), rows)
            with self.index_transaction() as conn:
                # One multi-row INSERT ... RETURNING id, the ids in the order of `rows`.
                inserted = SqlEventLogStorageTable.insert().returning(
                    SqlEventLogStorageTable.c.id, sort_by_parameter_order=True
                )
                event_ids = list(conn.execute(inserted, rows).scalars())
                self._store_asset_event_tags(conn, events, event_ids)
                last = {
                    (row["asset_key"], row["dagster_event_type"]): i for i, row in enumerate(rows)
                }
                for i in sorted(last.values()):
                    self._store_asset_event(conn, events[i], event_ids[i])

        def _store_asset_check_evaluation_planned(
            self, event: EventLogEntry, event_id: int | None
        ) -> None:
            """The stock rows (one per planned partition of the check), the event serialized once.

            The stock storage serializes the event again for every partition and compiles one
            multi-row INSERT: for 22 months of the graph's 21 partitioned checks (13,755 rows) the
            launch mutation took 18.9 s with it and 7.3 s without it.
            """
            planned = event.get_dagster_event().asset_check_planned_data
            subset = planned.partitions_subset
            common = {
                "asset_key": planned.asset_key.to_string(),
                "check_name": planned.check_name,
                "run_id": event.run_id,
                "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
                "evaluation_event": serialize_value(event),
                "evaluation_event_timestamp": self._event_insert_timestamp(event),
                "evaluation_event_storage_id": event_id,
            }
            partitions = subset.get_partition_keys() if subset else [None]
            with self.index_connection() as conn:
                conn.execute(
                    AssetCheckExecutionsTable.insert(),
                    [{**common, "partition": partition} for partition in partitions],
                )

    def _stretch_key(event: EventLogEntry) -> tuple[bool, str]:
        """Whether the event is an asset event (the kind store_event mirrors in the index shard), and its run."""
        return (event.is_dagster_event and event.dagster_event_type in ASSET_EVENTS, event.run_id)

else:
    warnings.warn(
        f"aqi_assets.dagster_compat is written for dagster {PINNED_DAGSTER}, this is "
        f"{dagster.__version__}: the local event log is Dagster's stock SQLite storage "
        "(same records, slower backfills)",
        stacklevel=2,
    )
    BatchedSqliteEventLogStorage = ConfiguredSqliteEventLogStorage
