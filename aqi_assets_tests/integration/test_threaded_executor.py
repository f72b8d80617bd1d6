"""The code location's executor: independent steps of a run side by side in one process.

They share the run's resources (one Spark driver), a failure skips only its downstream, retries
and termination behave as with Dagster's in-process executor, and on another Dagster release the
executor is Dagster's in-process one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg
from dagster._core.storage.noop_compute_log_manager import NoOpComputeLogManager

from aqi_assets.compat.threaded_executor_compat import threaded_in_process_executor

# Each side waits here for the other: run one after the other, the first one times out.
SIDE_BY_SIDE = threading.Barrier(2, timeout=20)
SETUPS: list[int] = []
ATTEMPTS: list[int] = []


class SharedDriver(dg.ConfigurableResource):
    """Stands for the Spark resource: built once per run, whatever the steps."""

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        SETUPS.append(id(self))


@dg.asset
def left(shared: SharedDriver) -> dg.MaterializeResult:
    SIDE_BY_SIDE.wait()
    return dg.MaterializeResult(metadata={"resource": id(shared)})


@dg.asset
def right(shared: SharedDriver) -> dg.MaterializeResult:
    SIDE_BY_SIDE.wait()
    return dg.MaterializeResult(metadata={"resource": id(shared)})


@dg.asset(deps=[left, right])
def joined() -> None:
    return None


@dg.asset
def broken() -> None:
    raise RuntimeError("bad input")


@dg.asset(deps=[broken])
def after_broken() -> None:
    return None


@dg.asset
def healthy() -> None:
    return None


@dg.asset
def also_healthy() -> None:
    return None


@dg.asset(retry_policy=dg.RetryPolicy(max_retries=1))
def flaky() -> None:
    ATTEMPTS.append(1)
    if len(ATTEMPTS) == 1:
        raise RuntimeError("first attempt fails")


@dg.asset
def blocked_a() -> None:
    _block("a")


@dg.asset
def blocked_b() -> None:
    _block("b")


def _block(name: str) -> None:
    """Say the step started, then run until the run is terminated (at most a minute)."""
    Path(os.environ["AQI_TEST_MARKERS"], name).touch()
    time.sleep(60)


def _job(
    name: str,
    *assets: dg.AssetsDefinition,
    executor: dg.ExecutorDefinition = threaded_in_process_executor,
) -> dg.JobDefinition:
    """A job of `assets` on the project's executor, as the code location defines its jobs."""
    return dg.Definitions(
        assets=list(assets),
        jobs=[dg.define_asset_job(name)],
        resources={"shared": SharedDriver()},
        executor=executor,
    ).resolve_job_def(name)


def side_by_side_job() -> dg.JobDefinition:
    return _job("side_by_side", left, right, joined)


def failing_job() -> dg.JobDefinition:
    return _job("failing", broken, after_broken, healthy)


def failing_job_in_process() -> dg.JobDefinition:
    return _job("failing", broken, after_broken, healthy, executor=dg.in_process_executor)


def healthy_pair_job() -> dg.JobDefinition:
    return _job("healthy_pair", healthy, also_healthy)


def healthy_pair_job_in_process() -> dg.JobDefinition:
    return _job("healthy_pair", healthy, also_healthy, executor=dg.in_process_executor)


class BrokenComputeLogs(NoOpComputeLogManager):
    """A compute log manager that cannot capture (a full disk, say)."""

    def capture_logs(self, log_key):
        raise OSError("No space left on device")


def flaky_job() -> dg.JobDefinition:
    return _job("flaky", flaky)


def blocked_job() -> dg.JobDefinition:
    return _job("blocked", blocked_a, blocked_b)


def materialized(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    return {r.event_log_entry.dagster_event.asset_key.to_user_string() for r in records}


def test_independent_steps_run_side_by_side_on_one_set_of_resources() -> None:
    SETUPS.clear()
    with dg.instance_for_test() as instance:
        result = dg.execute_job(dg.reconstructable(side_by_side_job), instance)
        assert result.success
        assert materialized(instance, result.run_id) == {"left", "right", "joined"}
        metadata = [
            result.asset_materializations_for_node(name)[0].metadata["resource"].value
            for name in ("left", "right")
        ]
    assert len(SETUPS) == 1
    assert metadata == [SETUPS[0], SETUPS[0]]


def step_events(result: dg.ExecuteJobResult) -> dict[str, list[str]]:
    """Each step's event types in order; engine events by their message."""
    out: dict[str, list[str]] = {}
    for event in result.all_events:
        if event.step_key:
            kind = event.message if event.is_engine_event else event.event_type_value
            out.setdefault(event.step_key, []).append(kind)
    return out


def test_a_failed_step_stops_its_downstream_as_in_process_and_the_other_branch_completes() -> None:
    found = {}
    for name, job in (("threads", failing_job), ("stock", failing_job_in_process)):
        with dg.instance_for_test() as instance:
            result = dg.execute_job(dg.reconstructable(job), instance)
            assert not result.success
            assert materialized(instance, result.run_id) == {"healthy"}
            found[name] = step_events(result)
    assert found["threads"] == found["stock"]
    assert "STEP_FAILURE" in found["stock"]["broken"]
    # Never started: no step event at all, with either executor.
    assert "after_broken" not in found["stock"]


def test_a_step_with_a_retry_policy_is_retried() -> None:
    ATTEMPTS.clear()
    with dg.instance_for_test() as instance:
        result = dg.execute_job(dg.reconstructable(flaky_job), instance)
        assert result.success
    assert len(ATTEMPTS) == 2


# A run worker's process: the run on the instance of $DAGSTER_HOME.
def test_max_concurrent_from_the_run_config_limits_the_steps_at_once() -> None:
    one_at_a_time = {"execution": {"config": {"max_concurrent": 1}}}
    with dg.instance_for_test() as instance:
        job = dg.reconstructable(healthy_pair_job)
        result = dg.execute_job(job, instance, run_config=one_at_a_time)
        assert result.success
        order = [
            (e.event_type_value, e.step_key)
            for e in result.all_events
            if e.event_type_value in ("STEP_START", "STEP_SUCCESS")
        ]
        engine = [e.message for e in result.all_events if e.is_engine_event]
    # Each step ends before the next one starts.
    assert [kind for kind, _ in order] == ["STEP_START", "STEP_SUCCESS"] * 2
    assert any("up to 1 at once" in (message or "") for message in engine)


def test_a_compute_log_manager_that_fails_is_reported_and_the_run_goes_on() -> None:
    broken = {
        "compute_logs": {"module": __name__, "class": BrokenComputeLogs.__name__, "config": {}}
    }
    found = {}
    for name, job in (("threads", healthy_pair_job), ("stock", healthy_pair_job_in_process)):
        with dg.instance_for_test(overrides=broken) as instance:
            result = dg.execute_job(dg.reconstructable(job), instance)
            assert result.success
            found[name] = [
                e.message
                for e in result.all_events
                if e.is_engine_event and "compute log" in (e.message or "")
            ]
    assert found["threads"] == found["stock"] == ["Exception while setting up compute log capture"]


TERMINATED_RUN = """
import dagster as dg
from aqi_assets_tests.integration.test_threaded_executor import blocked_job
dg.execute_job(dg.reconstructable(blocked_job), dg.DagsterInstance.get(), raise_on_error=False)
"""


def test_termination_fails_the_running_steps_and_cancels_the_run(tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "AQI_TEST_MARKERS": str(markers)}
    (tmp_path / "dagster.yaml").touch()
    started = time.monotonic()
    worker = subprocess.Popen([sys.executable, "-c", TERMINATED_RUN], env=env)
    while len(list(markers.iterdir())) < 2:
        assert worker.poll() is None, "the run ended before its steps started"
        assert time.monotonic() - started < 60, "steps did not start"
        time.sleep(0.1)
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    # What the UI's Terminate does: mark the run canceling, then signal its worker.
    (run,) = instance.get_runs()
    instance.report_run_canceling(run)
    worker.send_signal(signal.SIGTERM)
    worker.communicate(timeout=30)
    assert time.monotonic() - started < 45, "the run waited for its steps instead of stopping"
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.CANCELED
    failures = instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE
    ).records
    assert {r.event_log_entry.dagster_event.step_key for r in failures} == {
        "blocked_a",
        "blocked_b",
    }


FALLBACK_PROBE = """
import warnings
import dagster
dagster.__version__ = "0.0.1"
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from aqi_assets.compat import threaded_executor_compat
print(threaded_executor_compat.threaded_in_process_executor is dagster.in_process_executor)
"""


def test_other_dagster_release_runs_steps_with_dagsters_in_process_executor() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", FALLBACK_PROBE], capture_output=True, text=True, check=True
    )
    assert probe.stdout.split() == ["True"], probe.stderr
