"""API faults at the asset level: transient ones are retried to success, the others fail the
partition with a message naming the cause and leave bronze at its previous snapshot."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pytest

from aqi_assets.catalog.registry import BRONZE_RAW
from aqi_assets.ingest.bronze_raw import build_bronze_raw
from aqi_assets_tests.materialize import materialize_range
from resources.open_meteo.client import OpenMeteoResource

DAY = date(2024, 2, 1)


@pytest.fixture
def landed(lakehouse_assets, pipeline_resources):
    """bronze_raw for DAY, written once without faults; returns the snapshot id."""
    materialize_range(lakehouse_assets, DAY, DAY, pipeline_resources, BRONZE_RAW.asset)
    return pipeline_resources["lakehouse"].current_snapshot_id(*BRONZE_RAW.table)


@pytest.mark.parametrize(
    "faults",
    [
        [{"kind": "status", "status": 429, "retry_after": 1}],
        [
            {"kind": "status", "status": 500},
            {"kind": "status", "status": 503},
            {"kind": "status", "status": 500},
        ],
        [{"kind": "reset"}],
        [{"kind": "delay", "seconds": 3}],
    ],
    ids=["429-retry-after", "5xx-burst", "reset-mid-body", "timeout"],
)
def test_transient_faults_are_retried_to_success(
    lakehouse_assets, pipeline_resources, open_meteo_server, faults
) -> None:
    resources = {
        **pipeline_resources,
        "open_meteo": OpenMeteoResource(
            base_url=open_meteo_server.base_url, backoff_factor=0.01, timeout_seconds=1.0
        ),
    }
    open_meteo_server.set_faults(*faults)
    open_meteo_server.reset_counters()
    result = materialize_range(lakehouse_assets, DAY, DAY, resources, BRONZE_RAW.asset)
    assert result.success
    assert open_meteo_server.calls == len(faults) + 1
    [event] = result.asset_materializations_for_node(BRONZE_RAW.asset)
    assert event.metadata["api_calls"].value == len(faults) + 1
    assert pipeline_resources["lakehouse"].row_count(*BRONZE_RAW.table) == 72


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"kind": "malformed_json"}, "response is not valid JSON"),
        ({"kind": "wrong_length"}, "returned 2 items for 3 locations"),
        ({"kind": "empty_hourly"}, "returned no hours for 'hanoi'"),
        (
            {"kind": "drop_variable", "item": 1, "variable": "pm2_5"},
            "answer for 'danang' 2024-02-01..2024-02-01 lacks the requested variable 'pm2_5'",
        ),
        (
            {"kind": "null_variable", "item": 2, "variable": "dust"},
            "answer for 'hcmc' 2024-02-01..2024-02-01 has null instead of the hourly series of 'dust'",
        ),
        (
            {"kind": "short_series", "hours": 5},
            "returned 19 hours for 'hanoi' 2024-02-01..2024-02-01",
        ),
    ],
    ids=["malformed", "wrong-length", "empty", "missing-variable", "null-variable", "short-series"],
)
def test_malformed_answers_fail_the_partition_and_change_nothing(
    landed, lakehouse_assets, pipeline_resources, open_meteo_server, fault, message
) -> None:
    open_meteo_server.set_faults(fault)
    result = materialize_range(
        lakehouse_assets, DAY, DAY, pipeline_resources, BRONZE_RAW.asset, raise_on_error=False
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert message in failure.step_failure_data.error.message
    assert "Request: http://127.0.0.1" in failure.step_failure_data.error.message
    assert pipeline_resources["lakehouse"].current_snapshot_id(*BRONZE_RAW.table) == landed


def test_api_error_body_is_reported(lakehouse_assets, pipeline_resources) -> None:
    early = date(2022, 1, 1)
    partitions = dg.DailyPartitionsDefinition(start_date="2022-01-01", timezone="UTC", end_offset=1)
    result = materialize_range(
        [build_bronze_raw(partitions)],
        early,
        early,
        pipeline_resources,
        BRONZE_RAW.asset,
        raise_on_error=False,
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    text = failure.step_failure_data.error.message
    assert "Open-Meteo rejected the request (HTTP 400)" in text
    assert "Parameter 'start_date' is out of allowed range from 2022-08-01" in text
    assert not pipeline_resources["lakehouse"].table_exists(*BRONZE_RAW.table)
