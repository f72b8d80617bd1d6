"""The code location's executor: Dagster's in-process executor (resources built once: one Spark
driver per run) running the steps whose upstream is done side by side in threads. A step mostly
waits on the driver, which keeps one core busy. On another Dagster release it is the stock
in-process executor (same results, one step at a time).
"""

from __future__ import annotations

import functools
import itertools
import os
import queue
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import dagster as dg
from dagster import Field

from aqi_assets.compat.dagster_release import is_pinned_release, warn_fallback

# Steps a run executes at once: the machines have 2 cores, and a step mostly keeps one busy.
DEFAULT_MAX_CONCURRENT = 2

if is_pinned_release():
    from dagster._core.definitions import executor_definition as executors
    from dagster._core.errors import DagsterExecutionInterruptedError
    from dagster._core.events import DagsterEvent, EngineEventData
    from dagster._core.execution.api import ExecuteRunWithPlanIterable
    from dagster._core.execution.compute_logs import create_compute_log_file_key
    from dagster._core.execution.context.system import PlanExecutionContext, StepExecutionContext
    from dagster._core.execution.context_creation_job import PlanExecutionContextManager
    from dagster._core.execution.plan import execute_plan
    from dagster._core.execution.plan.active import ActiveExecution
    from dagster._core.execution.plan.instance_concurrency_context import (
        InstanceConcurrencyContext,
    )
    from dagster._core.execution.plan.objects import StepFailureData
    from dagster._core.execution.retries import RetryMode
    from dagster._core.execution.step_dependency_config import StepDependencyConfig
    from dagster._core.executor.in_process import InProcessExecutor
    from dagster._utils.error import SerializableErrorInfo

    _STEP_DONE = object()
    # How often the orchestrating thread looks for a termination request while steps run.
    _INTERRUPT_POLL_S = 0.2
    _Running = dict[int, tuple[StepExecutionContext, list[DagsterEvent]]]

    class ThreadedInProcessExecutor(InProcessExecutor):
        """Up to `max_concurrent` ready steps in threads; events and bookkeeping in this one."""

        def __init__(self, retries: RetryMode, max_concurrent: int, steps: StepDependencyConfig):
            super().__init__(retries=retries, step_dependency_config=steps)
            self.max_concurrent = max_concurrent

        def execute(self, plan_context: Any, execution_plan: Any) -> Iterator[DagsterEvent]:
            """InProcessExecutor.execute, with the threaded plan iterator."""
            yield DagsterEvent.engine_event(
                plan_context,
                f"Executing steps in process (pid: {os.getpid()}), up to "
                f"{self.max_concurrent} at once in threads",
                EngineEventData.in_process(os.getpid(), execution_plan.step_keys_to_execute),
            )
            context = plan_context
            yield from ExecuteRunWithPlanIterable(
                execution_plan=context.execution_plan,
                iterator=functools.partial(_plan_iterator, max_concurrent=self.max_concurrent),
                execution_context_manager=PlanExecutionContextManager(
                    job=context.job,
                    retry_mode=context.retry_mode,
                    execution_plan=context.execution_plan,
                    run_config=context.run_config,
                    dagster_run=context.dagster_run,
                    instance=context.instance,
                    raise_on_error=context.raise_on_error,
                    output_capture=context.output_capture,
                    step_dependency_config=self.step_dependency_config,
                ),
            )

    def _plan_iterator(
        job_context: PlanExecutionContext, execution_plan: Any, max_concurrent: int
    ) -> Iterator[DagsterEvent]:
        """Dagster's inner_plan_execution_iterator, each ready step run in a thread of its own."""
        logs = job_context.instance.compute_log_manager
        # The run's stdout and stderr are captured once for the process, as in-process.
        key = logs.build_log_key_for_run(job_context.run_id, create_compute_log_file_key())
        steps = [step.key for step in execution_plan.get_steps_to_execute_in_topo_order()]
        with (
            InstanceConcurrencyContext(job_context.instance, job_context.dagster_run) as pools,
            execution_plan.start(
                retry_mode=job_context.retry_mode,
                max_concurrent=max_concurrent,
                instance_concurrency_context=pools,
                step_dependency_config=job_context.step_dependency_config,
            ) as active,
            ExitStack() as capture,
        ):
            # As in-process: a compute log manager that fails is reported, the run goes on.
            try:
                log_context = capture.enter_context(logs.capture_logs(key))
                yield DagsterEvent.capture_logs(job_context, steps, key, log_context)
            except Exception:
                yield from execute_plan._handle_compute_log_setup_error(job_context, sys.exc_info())
            yield from _run_steps(job_context, active, max_concurrent)
            try:
                capture.close()
            except Exception:
                yield from execute_plan._handle_compute_log_teardown_error(
                    job_context, sys.exc_info()
                )

    def _run_steps(
        job_context: PlanExecutionContext, active: ActiveExecution, max_concurrent: int
    ) -> Iterator[DagsterEvent]:
        """Start ready steps in threads, relay their events, and wait until the plan is done."""
        events: queue.SimpleQueue = queue.SimpleQueue()
        running: _Running = {}  # by attempt: a retry may start before its failed thread ends
        attempts = itertools.count()
        while not active.is_complete or running:
            if active.check_for_interrupts():
                yield from _interrupted(job_context, active, running)
            for step in active.get_steps_to_execute(limit=max_concurrent - len(running)):
                attempt = next(attempts)
                running[attempt] = (job_context.for_step(step, active.get_known_state()), [])
                args = (attempt, running[attempt][0], events)
                threading.Thread(target=_step_thread, args=args, daemon=True).start()
            yield from active.concurrency_event_iterator(job_context)
            if not running:
                active.sleep_til_ready()  # a retry's delay or a pool's slot
                continue
            try:
                attempt, item = events.get(timeout=_INTERRUPT_POLL_S)
            except queue.Empty:
                continue
            if isinstance(item, BaseException):
                raise item
            step_context, step_events = running[attempt]
            if item is not _STEP_DONE:
                step_events.append(item)
                yield item
                active.handle_event(item)
                continue
            del running[attempt]
            key = step_context.step.key
            # A retry's next attempt, already running, is the one that must end the step.
            if all(context.step.key != key for context, _ in running.values()):
                active.verify_complete(job_context, key)
            # Skips of the steps a failure or a missing output leaves without inputs.
            for event in active.plan_events_iterator(job_context):
                step_events.append(event)
                yield event
            yield from execute_plan._trigger_hook(step_context, step_events)

    def _step_thread(attempt: int, context: StepExecutionContext, events: queue.SimpleQueue):
        """Run one step, handing each of its events (then a done marker) to the orchestrator."""
        try:
            for event in execute_plan.dagster_event_sequence_for_step(context):
                events.put((attempt, event))
        except BaseException as exc:  # a framework error: the orchestrator re-raises it
            events.put((attempt, exc))
            return
        events.put((attempt, _STEP_DONE))

    def _interrupted(
        job_context: PlanExecutionContext, active: ActiveExecution, running: _Running
    ) -> Iterator[DagsterEvent]:
        """Fail the running steps and stop the run: their threads end with the run's process."""
        active.mark_interrupted()
        keys = [context.step.key for context, _ in running.values()]
        message = "Received a termination request: the run stops with its steps in progress"
        yield DagsterEvent.engine_event(job_context, message, EngineEventData.interrupted(keys))
        reason = "Execution was interrupted by a termination request"
        error = SerializableErrorInfo(reason, [], DagsterExecutionInterruptedError.__name__)
        for context, _ in running.values():
            failure = StepFailureData(error=error, user_failure_data=None)
            yield DagsterEvent.step_failure_event(context, failure)
        raise DagsterExecutionInterruptedError()

    @dg.executor(
        name="in_process_threaded",
        config_schema={
            "retries": executors.get_retries_config(),
            "step_dependency_config": executors.get_step_dependency_config_field(),
            "max_concurrent": Field(int, default_value=DEFAULT_MAX_CONCURRENT),
        },
    )
    def threaded_in_process_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
        """One process per run, resources built once, independent steps side by side in threads."""
        config = init_context.executor_config
        return ThreadedInProcessExecutor(
            retries=RetryMode.from_config(config["retries"]),
            max_concurrent=config["max_concurrent"],
            steps=StepDependencyConfig.from_config(config.get("step_dependency_config")),
        )

else:
    warn_fallback(__name__, "runs execute their steps one at a time")
    threaded_in_process_executor = dg.in_process_executor
