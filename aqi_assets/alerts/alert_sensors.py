"""The alert sensors: failed runs, failed blocking and freshness checks, unhealthy air.

Each reads the instance only (events and the report's latest materialization, never Spark),
sends through the `alerts` resource, and catches everything: an alert never fails a tick or a run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg

from aqi_assets.alerts import alert_messages as messages
from aqi_assets.alerts.alert_messages import Alert
from aqi_assets.alerts.city_levels import air_alerts, read_levels
from aqi_assets.alerts.dedupe import AlertLedger
from aqi_assets.alerts.delivery import AlertChannels
from aqi_assets.report.asset import REPORT_KEY

ALERTS_RESOURCE = "alerts"
RUN_FAILURE_SENSOR = "alert_run_failures"
CHECK_SENSOR = "alert_failed_checks"
AIR_QUALITY_SENSOR = "alert_air_quality"
FRESHNESS_CHECK = "data_freshness"
# A check evaluation older than this when first seen (a new instance, a sensor started late) is
# history, not news.
CHECK_MAX_AGE = timedelta(hours=6)
# The report's "now" must be this recent for its levels to alert.
LEVELS_MAX_AGE = timedelta(hours=6)
INTERVAL_SECONDS = 60
MAX_LISTED = 4


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _status(running: bool) -> dg.DefaultSensorStatus:
    return dg.DefaultSensorStatus.RUNNING if running else dg.DefaultSensorStatus.STOPPED


def build_run_failure_sensor(running: bool) -> dg.SensorDefinition:
    """Every failed run of the code location's jobs, including runs that run monitoring or a
    lost worker marked failed (they end with the same run-failure event)."""

    @dg.run_failure_sensor(
        name=RUN_FAILURE_SENSOR,
        minimum_interval_seconds=30,
        default_status=_status(running),
        description="Sends an alert for each failed run (webhook / e-mail, AQI_ALERT_*).",
    )
    def alert_run_failures(context: dg.RunFailureSensorContext, alerts: AlertChannels) -> None:
        try:
            run = context.dagster_run
            failures = context.get_step_failure_events()
            steps = [e.step_key for e in failures if e.step_key]
            # The step's own error says why; the run's event only says which steps failed.
            errors = [e.step_failure_data.error for e in failures if e.step_failure_data]
            error = root_cause(errors[0]) if errors and errors[0] else context.failure_event.message
            alert = messages.run_failure(
                run_label(run, steps),
                run.run_id,
                error,
                steps,
                _utc_now().timestamp(),
                alerts.ui_url,
            )
            alerts.deliver(alert, context.log)
        except Exception as exc:  # an alert must never fail the sensor
            context.log.error(
                alerts.scrub(f"Run-failure alert not sent: {type(exc).__name__}: {exc}")
            )

    return alert_run_failures


def root_cause(error: Any) -> str:
    """The innermost message of a step's error (Dagster's SerializableErrorInfo, not exported):
    Dagster wraps the step's own exception in its own error."""
    while error.cause is not None:
        error = error.cause
    return error.message


def run_label(run: dg.DagsterRun, steps: list[str]) -> str:
    """A run as people know it: its job, or the assets of an automation or UI run."""
    if not run.job_name.startswith("__"):
        return run.job_name
    keys = sorted(k.to_user_string() for k in run.asset_selection or ()) or sorted(steps)
    if not keys:
        return "assets"
    more = f" and {len(keys) - MAX_LISTED} more" if len(keys) > MAX_LISTED else ""
    return "assets " + ", ".join(keys[:MAX_LISTED]) + more


def check_keys(repository: dg.RepositoryDefinition | None) -> list[dg.AssetCheckKey]:
    """Every asset check of the code location."""
    if repository is None:
        return []
    keys = set(repository.asset_checks_defs_by_key)
    for assets_def in repository.assets_defs_by_key.values():
        keys |= set(assets_def.check_keys)
    return sorted(keys, key=lambda k: k.to_user_string())


def check_alert(
    evaluation: dg.AssetCheckEvaluation, run_id: str, timestamp: float, ui_url: str | None
) -> Alert | None:
    """The alert a failed evaluation raises: a blocked commit or a stale table; else None."""
    if evaluation.passed:
        return None
    asset = evaluation.asset_key.to_user_string()
    meta = {k: getattr(v, "value", v) for k, v in evaluation.metadata.items()}
    if evaluation.blocking:
        return messages.blocked_commit(
            asset, evaluation.check_name, run_id, timestamp, meta.get("offending_rows"), ui_url
        )
    if evaluation.check_name == FRESHNESS_CHECK:
        return messages.stale_table(
            asset,
            str(meta.get("last_refresh", "never")),
            float(meta.get("lag_minutes", -1.0)),
            float(meta.get("limit_minutes", 120.0)),
            timestamp,
        )
    return None


def _send(alert: Alert, ledger: AlertLedger, alerts: AlertChannels, log) -> bool:
    """Deliver `alert` unless already sent; True when it is settled (sent now or before)."""
    if not ledger.is_new(alert):
        return True
    if alerts.deliver(alert, log):
        ledger.record(alert)
        return True
    return False  # every channel failed: the next tick tries again


def build_check_sensor(
    running: bool, clock: Callable[[], datetime] = _utc_now
) -> dg.SensorDefinition:
    """Blocking checks that stopped a commit, and `data_freshness` checks that failed."""

    @dg.sensor(
        name=CHECK_SENSOR,
        minimum_interval_seconds=INTERVAL_SECONDS,
        default_status=_status(running),
        description=(
            "Alerts once per table and day when a blocking check stops a commit or a "
            "data_freshness check fails (webhook / e-mail, AQI_ALERT_*)."
        ),
    )
    def alert_failed_checks(
        context: dg.SensorEvaluationContext, alerts: AlertChannels
    ) -> dg.SkipReason:
        ledger = AlertLedger.from_cursor(context.cursor)
        now = clock()
        sent = 0
        for key in check_keys(context.repository_def):
            try:
                sent += _check_once(context, key, ledger, alerts, now)
            except Exception as exc:  # one unreadable check must not hide the others
                context.log.error(
                    alerts.scrub(f"Check alert for {key.to_user_string()} failed: {exc}")
                )
        ledger.prune(now.date())
        context.update_cursor(ledger.to_cursor())
        return dg.SkipReason(f"{sent} alerts sent")

    return alert_failed_checks


def _check_once(
    context: dg.SensorEvaluationContext,
    key: dg.AssetCheckKey,
    ledger: AlertLedger,
    alerts: AlertChannels,
    now: datetime,
) -> int:
    record = context.instance.get_latest_asset_check_evaluation_record(key)
    name = key.to_user_string()
    event = record.event if record else None
    evaluation = event.asset_check_evaluation if event else None
    # A planned evaluation is still running: its record id stays when it completes.
    if (
        record is None
        or event is None
        or evaluation is None
        or record.id <= ledger.seen.get(name, -1)
    ):
        return 0
    alert = check_alert(evaluation, record.run_id, event.timestamp, alerts.ui_url)
    fresh = now.timestamp() - event.timestamp <= CHECK_MAX_AGE.total_seconds()
    if alert is not None and fresh and ledger.is_new(alert):
        if not _send(alert, ledger, alerts, context.log):
            return 0
        ledger.seen[name] = record.id
        return 1
    ledger.seen[name] = record.id
    return 0


def build_air_quality_sensor(
    running: bool, clock: Callable[[], datetime] = _utc_now
) -> dg.SensorDefinition:
    """A city's NowCast AQI or VN_AQI at Unhealthy or worse, or tomorrow forecast so, read from
    the latest `air_quality_report` materialization."""

    @dg.sensor(
        name=AIR_QUALITY_SENSOR,
        minimum_interval_seconds=INTERVAL_SECONDS,
        default_status=_status(running),
        description=(
            "Alerts once per city, index, category and local day when air reaches Unhealthy "
            "(>= 151) now or in tomorrow's forecast (webhook / e-mail, AQI_ALERT_*)."
        ),
    )
    def alert_air_quality(
        context: dg.SensorEvaluationContext, alerts: AlertChannels
    ) -> dg.SkipReason:
        ledger = AlertLedger.from_cursor(context.cursor)
        now = clock()
        sent = 0
        try:
            event = context.instance.get_latest_materialization_event(REPORT_KEY)
            materialization = event.asset_materialization if event else None
            levels = read_levels(materialization.metadata) if materialization else []
            for alert in air_alerts(levels, now, LEVELS_MAX_AGE):
                if ledger.is_new(alert) and _send(alert, ledger, alerts, context.log):
                    sent += 1
        except Exception as exc:  # an alert must never fail the sensor
            context.log.error(
                alerts.scrub(f"Air-quality alerts not evaluated: {type(exc).__name__}: {exc}")
            )
        ledger.prune(now.date())
        context.update_cursor(ledger.to_cursor())
        return dg.SkipReason(f"{sent} alerts sent")

    return alert_air_quality


def build_alert_sensors(running: bool) -> list[dg.SensorDefinition]:
    """The three alert sensors; `running` starts them (AQI_AUTOMATION and a configured channel)."""
    return [
        build_run_failure_sensor(running),
        build_check_sensor(running),
        build_air_quality_sensor(running),
    ]
