"""Alerts reach a local webhook receiver and a local SMTP server once per kind, subject and day;
a receiver that is down fails nothing; no secret is in any message or log line."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from aqi_assets.alerts.alert_sensors import (
    ALERTS_RESOURCE,
    build_air_quality_sensor,
    build_check_sensor,
    build_run_failure_sensor,
)
from aqi_assets.alerts.city_levels import levels_metadata
from aqi_assets.alerts.delivery import AlertChannels
from aqi_assets.catalog.registry import FACT_HOURLY, SILVER_HOURLY
from aqi_assets.orchestration.freshness import build_freshness_checks
from aqi_assets.quality.publish import BlockingCheckFailed, gated
from aqi_assets.report.asset import REPORT_KEY
from aqi_assets.report.page_data import City, ReportData

WEBHOOK_TOKEN = "T0AQI/B0ALERT/s3cr3tW3bh00kT0k3n"
SMTP_USER = "alerts"
SMTP_PASSWORD = "smtp-pa55word-XYZ"
API_KEY = "om-api-key-9f8e7d"
SECRETS = (WEBHOOK_TOKEN, "s3cr3tW3bh00kT0k3n", SMTP_PASSWORD, API_KEY)
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass
class Inbox:
    """What the receivers got: webhook texts and e-mails (raw, to search for secrets)."""

    posts: list[str] = field(default_factory=list)
    mails: list[str] = field(default_factory=list)
    status: int = 200
    refuse_mail: bool = False

    def texts(self) -> list[str]:
        return list(self.posts)

    def clear(self) -> None:
        self.posts.clear()
        self.mails.clear()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def webhook(inbox: Inbox) -> Iterator[str]:
    """A Slack-like receiver: POST {"text": ...} to /services/<token>."""

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if self.path.endswith(WEBHOOK_TOKEN):
                inbox.posts.append(json.loads(body)["text"])
            self.send_response(inbox.status)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/services/{WEBHOOK_TOKEN}"
    server.shutdown()
    server.server_close()


class MailHandler:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.inbox.refuse_mail:
            return "554 5.7.1 Message refused by policy"
        self.inbox.mails.append(envelope.content.decode())
        return "250 OK"


def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.password.decode() == SMTP_PASSWORD
    return AuthResult(success=ok)


@pytest.fixture
def smtp_port(inbox: Inbox) -> Iterator[int]:
    port = free_port()
    controller = Controller(
        MailHandler(inbox),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticate,
        auth_require_tls=False,
    )
    controller.start()
    yield port
    controller.stop()


def make_channels(webhook: str | None, smtp_port: int | None, **overrides: object) -> AlertChannels:
    settings: dict = {
        "webhook_url": webhook,
        "smtp_host": "127.0.0.1" if smtp_port else None,
        "smtp_port": smtp_port or 25,
        "smtp_user": SMTP_USER,
        "smtp_password": SMTP_PASSWORD,
        "smtp_to": ["ops@example.com"],
        "smtp_starttls": False,
        "open_meteo_api_key": API_KEY,
        "ui_url": "http://dagster.example:3000",
        "timeout_seconds": 5,
    }
    return AlertChannels(**{**settings, **overrides})


@pytest.fixture
def channels(webhook: str, smtp_port: int) -> AlertChannels:
    return make_channels(webhook, smtp_port)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def logged(capfd: pytest.CaptureFixture, caplog: pytest.LogCaptureFixture) -> str:
    """What was logged since the last call: Dagster's console handler writes to stderr."""
    return caplog.text + capfd.readouterr().err


def forget_logs(capfd: pytest.CaptureFixture, caplog: pytest.LogCaptureFixture) -> None:
    """Drop the logs so far: a failed run's own log shows its error (with whatever secret the
    test put in it); what matters is what alerting logs."""
    caplog.clear()
    capfd.readouterr()


def assert_no_secret(inbox: Inbox, log: str) -> None:
    # Decoded too: quoted-printable could split a secret over two lines of the raw e-mail.
    everything = "\n".join([*inbox.posts, *inbox.mails, *mail_bodies(inbox), log])
    for secret in SECRETS:
        assert secret not in everything


def mail_bodies(inbox: Inbox) -> list[str]:
    """The e-mails' text, decoded (SMTP sends long lines quoted-printable)."""
    parsed = [email.message_from_string(m, policy=email.policy.default) for m in inbox.mails]
    return [m.get_content().replace("\r\n", "\n").strip() for m in parsed]


# --- run failures -------------------------------------------------------------------------------


@dg.asset
def fetch_fails() -> None:
    # An error text that carries the API key the way a careless library would.
    raise RuntimeError(
        f"GET https://customer-api.example/v1/air-quality?apikey={API_KEY} timed out"
    )


def run_failure_context(
    instance: dg.DagsterInstance,
    run: dg.DagsterRun,
    event: dg.DagsterEvent,
    channels: AlertChannels,
) -> dg.RunFailureSensorContext:
    return dg.build_run_status_sensor_context(
        sensor_name="alert_run_failures",
        dagster_event=event,
        dagster_instance=instance,
        dagster_run=run,
        resources={ALERTS_RESOURCE: channels},
    ).for_run_failure()


def failed_run(instance: dg.DagsterInstance) -> tuple[dg.DagsterRun, dg.DagsterEvent]:
    result = dg.materialize([fetch_fails], instance=instance, raise_on_error=False)
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    event = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    return run, event


def test_a_failed_run_is_alerted_once_on_both_channels_without_the_api_key(
    instance, channels, inbox, caplog, capfd
) -> None:
    caplog.set_level(logging.INFO)
    run, event = failed_run(instance)
    forget_logs(capfd, caplog)
    build_run_failure_sensor(True)(run_failure_context(instance, run, event, channels))
    assert len(inbox.posts) == 1
    assert len(inbox.mails) == 1
    text = inbox.posts[0]
    title, error, link = text.splitlines()
    assert title == f"[AQI] Run of assets fetch_fails failed ({run.run_id[:8]})"
    assert error == (
        "steps fetch_fails failed: RuntimeError: GET "
        "https://customer-api.example/v1/air-quality?apikey=*** timed out"
    )
    assert link == f"http://dagster.example:3000/runs/{run.run_id}"
    assert mail_bodies(inbox) == [text]
    log = logged(capfd, caplog)
    assert "Alert sent to webhook http://127.0.0.1/…: Run of assets fetch_fails failed" in log
    assert_no_secret(inbox, log)


def test_a_run_failed_by_run_monitoring_is_alerted(instance, channels, inbox) -> None:
    run = instance.add_run(dg.DagsterRun(job_name="lakehouse", run_id="0123456789abcdef"))
    event = instance.report_run_failed(
        run, "Run worker lost: run monitoring marked this run failed after 300 s without heartbeat"
    )
    build_run_failure_sensor(True)(run_failure_context(instance, run, event, channels))
    assert inbox.posts == [
        "[AQI] Run of lakehouse failed (01234567)\nthe run was marked failed: Run worker lost: run "
        "monitoring marked this run failed after 300 s without heartbeat\n"
        "http://dagster.example:3000/runs/0123456789abcdef"
    ]


# --- checks -------------------------------------------------------------------------------------


@dg.asset(check_specs=[dg.AssetCheckSpec("unique_keys", asset="gated_table", blocking=True)])
@gated
def gated_table() -> dg.MaterializeResult:
    # What publish_window does when a blocking check fails: report the result, skip the commit.
    result = dg.AssetCheckResult(
        check_name="unique_keys", passed=False, metadata={"offending_rows": 3}
    )
    raise BlockingCheckFailed("Blocking checks failed on gated_table: unique_keys.", [result])


def check_tick(
    instance: dg.DagsterInstance,
    defs: dg.Definitions,
    channels: AlertChannels,
    cursor: str | None = None,
    now: datetime | None = None,
) -> dg.SensorEvaluationContext:
    sensor = build_check_sensor(True, clock=lambda: now or datetime.now(UTC))
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, definitions=defs, resources={ALERTS_RESOURCE: channels}
    )
    sensor(context)
    return context


def test_a_blocking_check_that_stopped_a_commit_is_alerted_once_a_day(
    instance, channels, inbox
) -> None:
    defs = dg.Definitions(assets=[gated_table])
    cursor = None
    for _ in range(3):  # three hourly refreshes blocked by the same check the same day
        assert not dg.materialize([gated_table], instance=instance, raise_on_error=False).success
        cursor = check_tick(instance, defs, channels, cursor).cursor
        cursor = check_tick(instance, defs, channels, cursor).cursor
    assert len(inbox.posts) == 1
    assert len(inbox.mails) == 1
    title, body, link = inbox.posts[0].splitlines()
    assert title == "[AQI] Commit to gated_table blocked by check unique_keys"
    assert body.startswith("The check failed (3 offending rows); nothing was written")
    assert link.startswith("http://dagster.example:3000/runs/")


def test_a_stale_table_is_alerted_once_per_table_and_day(instance, channels, inbox) -> None:
    checks = build_freshness_checks(clock=lambda: datetime.now(UTC))
    specs = [dg.AssetSpec(SILVER_HOURLY.key), dg.AssetSpec(FACT_HOURLY.key)]
    defs = dg.Definitions(assets=specs, asset_checks=checks)
    cursor = None
    for _ in range(2):  # the check runs every 15 minutes and keeps failing
        dg.materialize(
            [*specs, *checks], selection=dg.AssetSelection.all_asset_checks(), instance=instance
        )
        cursor = check_tick(instance, defs, channels, cursor).cursor
    assert sorted(inbox.posts) == [
        f"[AQI] {table.asset} is stale\ntoday's partition was never refreshed (limit 120 min). "
        "Check the hourly refresh runs and the ingest_open_days sensor."
        for table in sorted((FACT_HOURLY, SILVER_HOURLY), key=lambda t: t.asset)
    ]


def test_an_old_failed_check_seen_first_is_history(instance, channels, inbox) -> None:
    defs = dg.Definitions(assets=[gated_table])
    dg.materialize([gated_table], instance=instance, raise_on_error=False)
    check_tick(instance, defs, channels, now=datetime.now(UTC) + timedelta(days=1))
    assert inbox.posts == []


# --- air quality --------------------------------------------------------------------------------


def report(now: datetime, hanoi: tuple[int, int, int], danang_aqi: int = 60) -> ReportData:
    """A report whose Ha Noi has (NowCast AQI, VN_AQI, tomorrow's forecast peak)."""
    today = now.astimezone(HANOI).date()
    nowcast, vn_aqi, tomorrow = hanoi
    cities = [
        City("danang", "Da Nang", HANOI, now, danang_aqi, danang_aqi, danang_aqi, {}, {}, [], {}),
        City("hanoi", "Ha Noi", HANOI, now, nowcast, nowcast, vn_aqi, {}, {}, [],
             {today: nowcast, today + timedelta(days=1): tomorrow}),
    ]  # fmt: skip
    return ReportData(now, cities, has_nowcast=True, has_vn_aqi=True, has_forecast=True)


def publish_report(instance: dg.DagsterInstance, data: ReportData) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization(asset_key=REPORT_KEY, metadata=levels_metadata(data))
    )


def air_tick(
    instance: dg.DagsterInstance, channels: AlertChannels, now: datetime, cursor: str | None
) -> str | None:
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={ALERTS_RESOURCE: channels}
    )
    build_air_quality_sensor(True, clock=lambda: now)(context)
    return context.cursor


# 08:00 in Ha Noi on a Monday.
DAY_START = datetime(2026, 1, 5, 1, tzinfo=UTC)


def test_unhealthy_now_vn_aqi_and_tomorrow_are_alerted(instance, channels, inbox) -> None:
    publish_report(instance, report(DAY_START, (168, 172, 180)))
    air_tick(instance, channels, DAY_START + timedelta(minutes=10), None)
    assert inbox.posts == [
        "[AQI] Ha Noi: air is Unhealthy now (NowCast AQI 168)\nNowCast AQI 168 (Unhealthy) at "
        "08:00 local time, Mon 05 Jan 2026. Everyone should reduce long or heavy exertion "
        "outdoors; sensitive groups avoid it.",
        "[AQI] Ha Noi: air is Bad now (VN_AQI 172)\nVN_AQI 172 (Bad) at 08:00 local time, Mon 05 "
        "Jan 2026. Everyone should reduce long or heavy exertion outdoors; sensitive groups "
        "avoid it.",
        "[AQI] Ha Noi: tomorrow is forecast Unhealthy (AQI up to 180)\nThe forecast for Tue 06 "
        "Jan 2026 reaches AQI 180 (Unhealthy, US EPA). Everyone should reduce long or heavy "
        "exertion outdoors; sensitive groups avoid it.",
    ]
    assert mail_bodies(inbox) == inbox.posts


def test_24_hourly_refreshes_of_one_unhealthy_day_send_one_message_each(
    instance, channels, inbox
) -> None:
    cursor = None
    for hour in range(24):
        now = DAY_START - timedelta(hours=8) + timedelta(hours=hour)  # 00:00-23:00 local
        publish_report(instance, report(now, (151 + hour, 160 + hour, 155 + hour)))
        cursor = air_tick(instance, channels, now + timedelta(minutes=12), cursor)
        cursor = air_tick(instance, channels, now + timedelta(minutes=42), cursor)
    titles = [p.splitlines()[0] for p in inbox.posts]
    assert titles == [
        "[AQI] Ha Noi: air is Unhealthy now (NowCast AQI 151)",
        "[AQI] Ha Noi: air is Bad now (VN_AQI 160)",
        "[AQI] Ha Noi: tomorrow is forecast Unhealthy (AQI up to 155)",
    ]
    assert len(inbox.mails) == 3
    # The next local day is a new day: one message each again.
    inbox.clear()
    now = DAY_START + timedelta(hours=23)
    publish_report(instance, report(now, (170, 170, 120)))
    air_tick(instance, channels, now, cursor)
    assert [p.splitlines()[0] for p in inbox.posts] == [
        "[AQI] Ha Noi: air is Unhealthy now (NowCast AQI 170)",
        "[AQI] Ha Noi: air is Bad now (VN_AQI 170)",
    ]


def test_a_worse_category_the_same_day_is_a_new_message_a_better_one_is_not(
    instance, channels, inbox
) -> None:
    cursor = None
    for hour, level in enumerate((160, 230, 170, 240, 320)):
        now = DAY_START + timedelta(hours=hour)
        publish_report(instance, report(now, (level, 100, 100)))
        cursor = air_tick(instance, channels, now, cursor)
    assert [p.splitlines()[0] for p in inbox.posts] == [
        "[AQI] Ha Noi: air is Unhealthy now (NowCast AQI 160)",
        "[AQI] Ha Noi: air is Very Unhealthy now (NowCast AQI 230)",
        "[AQI] Ha Noi: air is Hazardous now (NowCast AQI 320)",
    ]


def test_a_report_hours_old_raises_no_air_alert(instance, channels, inbox) -> None:
    publish_report(instance, report(DAY_START, (200, 200, 200)))
    air_tick(instance, channels, DAY_START + timedelta(hours=7), None)
    assert inbox.posts == []


# --- delivery failures and secrets --------------------------------------------------------------


def broken_channels(smtp_port: int) -> AlertChannels:
    """The webhook's receiver is down (nothing listens on its port)."""
    return make_channels(f"http://127.0.0.1:{free_port()}/services/{WEBHOOK_TOKEN}", smtp_port)


def test_delivery_failures_are_logged_and_fail_nothing_then_retried(
    instance, channels, smtp_port, inbox, caplog, capfd
) -> None:
    caplog.set_level(logging.INFO)
    broken = broken_channels(smtp_port)
    inbox.refuse_mail = True  # and the SMTP server refuses the message
    run, event = failed_run(instance)
    defs = dg.Definitions(assets=[gated_table])
    dg.materialize([gated_table], instance=instance, raise_on_error=False)
    publish_report(instance, report(DAY_START, (200, 100, 100)))
    forget_logs(capfd, caplog)
    # Each tick completes (none raises): a run failure, a blocked commit, unhealthy air.
    build_run_failure_sensor(True)(run_failure_context(instance, run, event, broken))
    cursor = check_tick(instance, defs, broken).cursor
    air_cursor = air_tick(instance, broken, DAY_START, None)
    assert inbox.posts == []
    assert inbox.mails == []
    failures = [ln for ln in logged(capfd, caplog).splitlines() if " - ERROR - Alert" in ln]
    assert len([ln for ln in failures if "webhook" in ln and "Connection refused" in ln]) == 3
    assert len([ln for ln in failures if "e-mail" in ln and "SMTPDataError" in ln]) == 3
    # Nothing accepted the check and air alerts: the next ticks send them once the channels work.
    inbox.refuse_mail = False
    check_tick(instance, defs, channels, cursor)
    air_tick(instance, channels, DAY_START, air_cursor)
    assert [p.splitlines()[0] for p in inbox.posts] == [
        "[AQI] Commit to gated_table blocked by check unique_keys",
        "[AQI] Ha Noi: air is Unhealthy now (NowCast AQI 200)",
    ]
    assert_no_secret(inbox, logged(capfd, caplog))


def test_a_receiver_answering_an_error_is_logged(instance, webhook, inbox, caplog, capfd) -> None:
    inbox.status = 500
    publish_report(instance, report(DAY_START, (200, 100, 100)))
    air_tick(instance, make_channels(webhook, None), DAY_START, None)
    log = logged(capfd, caplog)
    assert "Alert to webhook http://127.0.0.1/… failed: HTTPError: HTTP Error 500" in log
    assert_no_secret(inbox, log)


def test_a_refused_smtp_login_is_logged_without_the_password(
    instance, smtp_port, inbox, caplog, capfd
) -> None:
    publish_report(instance, report(DAY_START, (200, 100, 100)))
    wrong = make_channels(None, smtp_port, smtp_password=SMTP_PASSWORD[::-1], timeout_seconds=1)
    air_tick(instance, wrong, DAY_START, None)
    log = logged(capfd, caplog)
    assert "Alert e-mail through 127.0.0.1" in log
    assert inbox.mails == []
    assert SMTP_PASSWORD[::-1] not in log
    assert_no_secret(inbox, log)
