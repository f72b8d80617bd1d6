"""Alerts' pure parts: redaction, texts, the dedupe ledger, city levels and the AQI_ALERT_* settings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from aqi_assets.alerts import alert_messages as messages
from aqi_assets.alerts.alert_settings import alert_channels
from aqi_assets.alerts.city_levels import air_alerts, levels_of, read_levels
from aqi_assets.alerts.dedupe import AlertLedger
from aqi_assets.alerts.delivery import AlertChannels, public_endpoint
from aqi_assets.config.settings import SettingsError
from aqi_assets.report.page_data import City, ReportData

HOOK = "https://hooks.slack.com/services/T000AAAA/B000BBBB/XyZsecretTokenValue"
NOW = datetime(2026, 1, 5, 3, tzinfo=UTC)  # 10:00 in Ha Noi
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def test_scrub_removes_known_secrets_url_credentials_and_secret_query_values() -> None:
    text = (
        f"posting to {HOOK} failed; https://user:hunter22@host/x?apikey=abc123&lat=1 "
        "token=tok999 password is pw-0001"
    )
    clean = messages.scrub(text, [HOOK, "pw-0001", None, "ab"])
    for secret in (HOOK, "hunter22", "abc123", "tok999", "pw-0001"):
        assert secret not in clean
    assert "https://***@host/x?apikey=***&lat=1" in clean


def test_channels_know_the_webhook_token_and_show_only_its_host() -> None:
    channels = AlertChannels(webhook_url=HOOK, smtp_password="pw-0001", open_meteo_api_key="k3y9")
    clean = channels.scrub(f"{HOOK} / XyZsecretTokenValue / pw-0001 / k3y9")
    assert "XyZsecretTokenValue" not in clean
    assert "pw-0001" not in clean
    assert "k3y9" not in clean
    assert public_endpoint(HOOK) == "https://hooks.slack.com/…"


def test_one_line_keeps_the_first_line_and_shortens_it() -> None:
    assert messages.one_line("\n  first\nsecond") == "first"
    assert len(messages.one_line("x" * 1000)) == messages.MAX_DETAIL


def alert(rank: int = 0, day: str = "2026-01-05") -> messages.Alert:
    return messages.Alert(messages.AlertKind.UNHEALTHY_NOW, "hanoi", day, "t", "b", rank)


def test_the_ledger_sends_once_per_day_and_again_for_a_worse_category() -> None:
    ledger = AlertLedger()
    assert ledger.is_new(alert())
    ledger.record(alert())
    assert not ledger.is_new(alert())
    assert ledger.is_new(alert(rank=1))
    ledger.record(alert(rank=2))
    assert not ledger.is_new(alert(rank=1))
    assert ledger.is_new(alert(day="2026-01-06"))
    again = AlertLedger.from_cursor(ledger.to_cursor())
    assert again == ledger
    again.prune(date(2026, 1, 9))
    assert again.sent == {}


@pytest.mark.parametrize("cursor", [None, "", "not json", "[1, 2]"])
def test_an_unreadable_cursor_starts_an_empty_ledger(cursor: str | None) -> None:
    assert AlertLedger.from_cursor(cursor) == AlertLedger()


def city(key: str, nowcast: int | None, vn: int | None, forecast: dict[date, int]) -> City:
    return City(key, key.title(), ZONE, NOW, nowcast, nowcast, vn, forecast=forecast)


def levels(*cities: City) -> list:
    data = ReportData(NOW, list(cities), has_nowcast=True, has_vn_aqi=True, has_forecast=True)
    return read_levels({"alert_levels": dg.MetadataValue.json(levels_of(data))})


def test_levels_carry_the_local_day_and_tomorrows_forecast_peak() -> None:
    today = date(2026, 1, 5)
    (level,) = levels(city("hanoi", 160, 170, {today: 150, today + timedelta(days=1): 190}))
    assert (level.local_day, level.local_time, level.next_day) == (
        "2026-01-05",
        "10:00",
        "2026-01-06",
    )
    assert (level.nowcast_aqi, level.vn_aqi, level.next_day_max) == (160, 170, 190)
    assert level.index == "NowCast AQI"


@pytest.mark.parametrize(
    ("nowcast", "vn", "tomorrow", "expected"),
    [
        (150, 150, 150, []),
        (151, None, None, [("unhealthy_now", 0)]),
        (None, 151, None, [("unhealthy_vn_aqi", 0)]),
        (201, 301, 500, [("unhealthy_now", 1), ("unhealthy_vn_aqi", 2), ("unhealthy_forecast", 2)]),
    ],
)
def test_air_alerts_start_at_151_and_rank_worse_bands_higher(
    nowcast, vn, tomorrow, expected
) -> None:
    forecast = {} if tomorrow is None else {date(2026, 1, 6): tomorrow}
    found = air_alerts(levels(city("hanoi", nowcast, vn, forecast)), NOW, timedelta(hours=6))
    assert [(a.kind.value, a.rank) for a in found] == expected


def test_old_levels_raise_no_alert() -> None:
    old = levels(city("hanoi", 300, 300, {date(2026, 1, 6): 300}))
    assert air_alerts(old, NOW + timedelta(hours=7), timedelta(hours=6)) == []


def test_settings_put_secrets_behind_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AQI_ALERT_WEBHOOK_URL", HOOK)
    monkeypatch.setenv("AQI_ALERT_SMTP_HOST", "smtp.example.com")
    monkeypatch.setenv("AQI_ALERT_SMTP_TO", "a@example.com, b@example.com")
    monkeypatch.setenv("AQI_ALERT_SMTP_PASSWORD", "pw-0001")
    monkeypatch.delenv("AQI_OPEN_METEO_API_KEY", raising=False)
    channels = alert_channels()
    assert channels.configured
    assert channels.smtp_to == ["a@example.com", "b@example.com"]
    assert (channels.smtp_port, channels.smtp_starttls) == (587, True)
    # The resource's config names the variables; their values are read when a sensor runs.
    assert isinstance(channels.webhook_url, dg.EnvVar)
    assert isinstance(channels.smtp_password, dg.EnvVar)
    assert channels.open_meteo_api_key is None


def test_no_channel_is_valid() -> None:
    assert not alert_channels({}).configured


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AQI_ALERT_WEBHOOK_URL": "ftp://x/secret"}, "AQI_ALERT_WEBHOOK_URL must be an http"),
        ({"AQI_ALERT_SMTP_HOST": "smtp"}, "AQI_ALERT_SMTP_TO is empty"),
        ({"AQI_ALERT_SMTP_PORT": "x"}, "is not a port number"),
        ({"AQI_ALERT_SMTP_STARTTLS": "yes"}, "must be 'on' or 'off'"),
    ],
)
def test_bad_settings_are_refused_without_showing_the_secret(env: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as refused:
        alert_channels(env)
    assert "secret" not in str(refused.value)


def test_each_kind_has_a_one_line_title() -> None:
    ts = NOW.timestamp()
    texts = [
        messages.run_failure("lakehouse", "abcdef0123", "boom\ntrace", ["a"], ts).text,
        messages.blocked_commit("silver", "unique_keys", "abcdef0123", ts, 2).text,
        messages.stale_table("hourly", "2026-01-05T00:05:00+00:00", 175.0, 120.0, ts).text,
    ]
    assert [t.splitlines()[0] for t in texts] == [
        "[AQI] Run of lakehouse failed (abcdef01)",
        "[AQI] Commit to silver blocked by check unique_keys",
        "[AQI] hourly is stale",
    ]
    assert "trace" not in texts[0]
