"""The local instance's event log: Dagster's SQLite storage, a batch of asset events per transaction.

`BatchedSqliteEventLogStorage` stores each batch of asset events in one transaction per shard and
serializes a check's planned event once for all its partition rows. On a Dagster release other than
the pinned one it is the stock storage (same records, slower). Why: docs/performance.md.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Sequence
from typing import Any

from dagster import Field, StringSource
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._serdes import ConfigurableClassData

from aqi_assets.compat.dagster_release import is_pinned_release, warn_fallback

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


if is_pinned_release():
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

    class CheckPlansSerializedOnce:
        """A partitioned check's planned rows (one per partition, as Dagster stores them) with its
        event serialized once instead of once per row, in one INSERT. Mixed into the SQL storages."""

        def _store_asset_check_evaluation_planned(
            self, event: EventLogEntry, event_id: int | None
        ) -> None:
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

    def asset_event_stretches(
        events: Sequence[EventLogEntry],
    ) -> Iterator[tuple[bool, list[EventLogEntry]]]:
        """The batch in order, cut into stretches of one run: asset events (which store_event
        mirrors in the asset tables) or other events, each with whether it holds asset events."""
        for (asset_events, _run_id), stretch in itertools.groupby(events, key=_stretch_key):
            yield asset_events, list(stretch)

    class BatchedSqliteEventLogStorage(CheckPlansSerializedOnce, ConfiguredSqliteEventLogStorage):
        """SQLite event log storage that stores a batch of asset events in one transaction per shard.

        Dagster hands batches to a storage only when `DAGSTER_EVENT_BATCH_SIZE` is set, so every
        process that opens this storage (webserver, daemon, run workers) sets it unless it is set.
        """

        def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
            super().__init__(base_dir, inst_data=inst_data)
            os.environ.setdefault(BATCH_SIZE_VARIABLE, DEFAULT_BATCH_SIZE)

        def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
            """Store a batch in order: each stretch of asset events of one run in one go per shard."""
            for asset_events, stretch in asset_event_stretches(events):
                if asset_events:
                    self._store_asset_events(stretch)
                else:
                    super().store_event_batch(stretch)

        def _store_asset_events(self, events: list[EventLogEntry]) -> None:
            """What store_event does for each event, in one transaction per shard.

            Each event overwrites its asset's row of the asset key table: the last one of each asset
            and event type decides it.
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
                for i in last_of_each_asset_and_type(rows):
                    self._store_asset_event(conn, events[i], event_ids[i])

    def last_of_each_asset_and_type(rows: Sequence[dict[str, Any]]) -> list[int]:
        """Indexes of the event rows that decide the asset key table: each event overwrites its
        asset's row, so the last one of each asset and event type is all that stays."""
        last = {(row["asset_key"], row["dagster_event_type"]): i for i, row in enumerate(rows)}
        return sorted(last.values())

    def _stretch_key(event: EventLogEntry) -> tuple[bool, str]:
        """Whether store_event mirrors the event in the index shard (asset events), and its run."""
        return (event.is_dagster_event and event.dagster_event_type in ASSET_EVENTS, event.run_id)

else:
    warn_fallback(__name__, "the local event log is Dagster's stock SQLite storage (slower)")
    BatchedSqliteEventLogStorage = ConfiguredSqliteEventLogStorage
