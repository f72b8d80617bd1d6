"""bronze_raw: a range of days lands once per location and hour, and re-runs replace, not append."""

from __future__ import annotations

from collections import Counter
from datetime import date

from aqi_assets.catalog.registry import BRONZE_RAW
from aqi_assets_tests.materialize import materialize_range
from aqi_assets_tests.open_meteo_client import open_meteo_client
from aqi_assets_tests.readback import RUN_BOOKKEEPING
from resources.iceberg.lakehouse_reader import LakehouseReader


def _bronze_event(result, key: str = BRONZE_RAW.asset):
    events = result.asset_materializations_for_node(key)
    assert sorted(e.partition for e in events) == ["2024-01-01", "2024-01-02", "2024-01-03"]
    return events[0].metadata


def rows_per_day(reader: LakehouseReader) -> Counter:
    """Rows of bronze_raw per event_date."""
    days = reader.read_arrow(*BRONZE_RAW.table, selected_fields=("event_date",))
    return Counter(days["event_date"].to_pylist())


def test_three_days_land_once_and_rematerializing_replaces(
    lakehouse_assets, pipeline_resources, open_meteo_server
) -> None:
    reader: LakehouseReader = pipeline_resources["lakehouse"]
    open_meteo_server.reset_counters()
    first = materialize_range(
        lakehouse_assets, date(2024, 1, 1), date(2024, 1, 3), pipeline_resources, BRONZE_RAW.asset
    )

    assert reader.row_count(*BRONZE_RAW.table) == 3 * 72
    assert rows_per_day(reader) == {
        date(2024, 1, 1): 3 * 24,
        date(2024, 1, 2): 3 * 24,
        date(2024, 1, 3): 3 * 24,
    }
    metadata = _bronze_event(first)
    assert metadata["api_calls"].value == 1 == open_meteo_server.calls
    assert metadata["rows_written"].value == 216
    assert metadata["partitions_written"].value == 3
    snapshot = reader.current_snapshot_id(*BRONZE_RAW.table)
    assert metadata["iceberg_snapshot_id"].value == str(snapshot)

    materialize_range(
        lakehouse_assets, date(2024, 1, 1), date(2024, 1, 3), pipeline_resources, BRONZE_RAW.asset
    )
    assert reader.row_count(*BRONZE_RAW.table) == 216
    assert reader.current_snapshot_id(*BRONZE_RAW.table) != snapshot

    table = reader.read_arrow(*BRONZE_RAW.table)
    keys = list(zip(table["location_key"].to_pylist(), table["time"].to_pylist(), strict=True))
    assert len(set(keys)) == 216
    assert set(table["location_key"].to_pylist()) == {"hanoi", "danang", "hcmc"}
    assert all("apikey" not in s for s in table["source"].to_pylist())


def test_one_day_inside_an_existing_range_only_touches_that_day(
    lakehouse_assets, pipeline_resources
) -> None:
    reader: LakehouseReader = pipeline_resources["lakehouse"]
    materialize_range(
        lakehouse_assets, date(2024, 1, 1), date(2024, 1, 3), pipeline_resources, BRONZE_RAW.asset
    )
    before = rows_per_day(reader)
    materialize_range(
        lakehouse_assets, date(2024, 1, 2), date(2024, 1, 2), pipeline_resources, BRONZE_RAW.asset
    )
    after = rows_per_day(reader)
    assert reader.row_count(*BRONZE_RAW.table) == 216
    ingested = reader.read_arrow(*BRONZE_RAW.table, selected_fields=("event_date", "batch_id"))
    batches = {}
    for day, batch in zip(
        ingested["event_date"].to_pylist(), ingested["batch_id"].to_pylist(), strict=True
    ):
        batches.setdefault(day, set()).add(batch)
    assert batches[date(2024, 1, 1)] == batches[date(2024, 1, 3)] != batches[date(2024, 1, 2)]
    assert before == after


def test_a_range_fetched_in_several_requests_lands_whole_in_one_commit(
    lakehouse_assets, pipeline_resources, open_meteo_server
) -> None:
    reader: LakehouseReader = pipeline_resources["lakehouse"]
    one_day_per_request = open_meteo_client(
        base_url=open_meteo_server.base_url, max_days_per_call=1, max_locations_per_call=2
    )
    open_meteo_server.reset_counters()
    result = materialize_range(
        lakehouse_assets,
        date(2024, 1, 1),
        date(2024, 1, 3),
        {**pipeline_resources, "open_meteo": one_day_per_request},
        BRONZE_RAW.asset,
    )

    metadata = _bronze_event(result)
    assert metadata["api_calls"].value == 6 == open_meteo_server.calls  # 3 days x 2 batches
    assert rows_per_day(reader) == {
        date(2024, 1, 1): 3 * 24,
        date(2024, 1, 2): 3 * 24,
        date(2024, 1, 3): 3 * 24,
    }
    table = reader.read_arrow(*BRONZE_RAW.table, selected_fields=("location_key", "time"))
    keys = list(zip(table["location_key"].to_pylist(), table["time"].to_pylist(), strict=True))
    assert len(set(keys)) == 216
    # One commit holds every request's rows.
    writes = [s for s in reader.snapshots(*BRONZE_RAW.table) if s.added_records]
    assert [s.added_records for s in writes] == [216]
    # Six answers give the rows that one answer for all the locations and days gives.
    several = answered_rows(reader)
    materialize_range(
        lakehouse_assets, date(2024, 1, 1), date(2024, 1, 3), pipeline_resources, BRONZE_RAW.asset
    )
    assert answered_rows(reader) == several


def answered_rows(reader: LakehouseReader) -> list[tuple]:
    """bronze_raw's rows without what differs between fetches (the request, the run)."""
    arrow = reader.read_arrow(*BRONZE_RAW.table)
    arrow = arrow.drop_columns([c for c in (*RUN_BOOKKEEPING, "source") if c in arrow.column_names])
    return sorted(tuple(row.values()) for row in arrow.to_pylist())
