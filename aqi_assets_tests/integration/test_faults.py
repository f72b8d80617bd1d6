"""API faults at the asset level: transient ones are retried to success, the others fail the
partition with a message naming the cause and leave bronze at its previous snapshot."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pytest

from aqi_assets.catalog.registry import BRONZE_RAW
from aqi_assets.ingest.bronze_raw import build_bronze_raw
from aqi_assets_tests.materialize import materialize_range
from aqi_assets_tests.open_meteo_client import open_meteo_client
from resources.spark.run_tags import RANGE_END_TAG, RANGE_START_TAG

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
        "open_meteo": open_meteo_client(
            open_meteo_server.base_url, backoff_factor=0.01, timeout_seconds=1.0
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


KEY = "k3y-0f-the-commercial-plan"


def _bronze_run(lakehouse_assets, resources, instance=None) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        lakehouse_assets,
        selection=[BRONZE_RAW.asset],
        resources=resources,
        tags={RANGE_START_TAG: DAY.isoformat(), RANGE_END_TAG: DAY.isoformat()},
        instance=instance,
        raise_on_error=False,
    )


def test_an_error_page_echoing_the_key_leaves_it_out_of_the_event_log(
    lakehouse_assets, pipeline_resources, open_meteo_server
) -> None:
    """A proxy's error page lists the request's query; the run's whole event log is searched."""
    client = open_meteo_client(open_meteo_server.base_url, api_key=KEY, backoff_factor=0.01)
    open_meteo_server.set_faults({"kind": "echo_query", "status": 403})
    instance = dg.DagsterInstance.ephemeral()
    result = _bronze_run(lakehouse_assets, {**pipeline_resources, "open_meteo": client}, instance)
    assert not result.success
    records = instance.all_logs(result.run_id)
    text = "\n".join(dg.serialize_value(record) for record in records)
    assert "Denied by proxy" in text, "the page is reported"
    assert KEY not in text


def test_a_bad_answer_is_requested_once(
    lakehouse_assets, pipeline_resources, open_meteo_server
) -> None:
    """A deterministic fault would fail the same way again: no retry spends the budget twice."""
    open_meteo_server.set_faults({"kind": "text_values", "variable": "pm10"}, permanent=True)
    open_meteo_server.reset_counters()
    try:
        result = _bronze_run(lakehouse_assets, pipeline_resources)
    finally:
        open_meteo_server.clear_faults()
    assert not result.success
    assert open_meteo_server.calls == 1
    types = [e.event_type for e in result.all_events]
    assert dg.DagsterEventType.STEP_UP_FOR_RETRY not in types
