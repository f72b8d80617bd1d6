"""AQI_ALERT_* environment variables -> the alert channels resource (secrets through dg.EnvVar)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlparse

import dagster as dg

from aqi_assets.alerts.delivery import AlertChannels
from aqi_assets.config.settings import SettingsError

WEBHOOK_URL_ENV = "AQI_ALERT_WEBHOOK_URL"
SMTP_HOST_ENV = "AQI_ALERT_SMTP_HOST"
SMTP_PORT_ENV = "AQI_ALERT_SMTP_PORT"
SMTP_USER_ENV = "AQI_ALERT_SMTP_USER"
SMTP_PASSWORD_ENV = "AQI_ALERT_SMTP_PASSWORD"
SMTP_FROM_ENV = "AQI_ALERT_SMTP_FROM"
SMTP_TO_ENV = "AQI_ALERT_SMTP_TO"
SMTP_STARTTLS_ENV = "AQI_ALERT_SMTP_STARTTLS"
UI_URL_ENV = "AQI_ALERT_UI_URL"
API_KEY_ENV = "AQI_OPEN_METEO_API_KEY"
DEFAULT_SMTP_PORT = 587
DEFAULT_SMTP_FROM = "aqi-lakehouse@localhost"


def _port(raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise SettingsError(f"{SMTP_PORT_ENV}={raw!r} is not a port number.") from None
    if not 0 < port < 65536:
        raise SettingsError(f"{SMTP_PORT_ENV}={port} must be between 1 and 65535.")
    return port


def _starttls(raw: str) -> bool:
    if raw.lower() not in ("on", "off"):
        raise SettingsError(f"{SMTP_STARTTLS_ENV}={raw!r} must be 'on' or 'off'.")
    return raw.lower() == "on"


def _secret(env: Mapping[str, str], name: str) -> str | dg.EnvVar | None:
    """A secret goes to the resource as dg.EnvVar: the UI shows the variable's name, never its
    value. An explicit `env` (tests) passes the value itself."""
    if not env.get(name):
        return None
    return dg.EnvVar(name) if env is os.environ else env[name]


def alert_channels(env: Mapping[str, str] | None = None) -> AlertChannels:
    """The channels AQI_ALERT_* configure; none configured is valid (alerts are then only logged)."""
    env = os.environ if env is None else env
    url = env.get(WEBHOOK_URL_ENV, "")
    if url and urlparse(url).scheme not in ("http", "https"):
        # The value itself may hold a token: name the variable, not its value.
        raise SettingsError(f"{WEBHOOK_URL_ENV} must be an http(s) URL.")
    host = env.get(SMTP_HOST_ENV) or None
    recipients = [r.strip() for r in env.get(SMTP_TO_ENV, "").split(",") if r.strip()]
    if host and not recipients:
        raise SettingsError(
            f"{SMTP_HOST_ENV} is set but {SMTP_TO_ENV} is empty: give comma-separated addresses."
        )
    return AlertChannels(
        webhook_url=_secret(env, WEBHOOK_URL_ENV),
        smtp_host=host,
        smtp_port=_port(env.get(SMTP_PORT_ENV, str(DEFAULT_SMTP_PORT))),
        smtp_user=env.get(SMTP_USER_ENV) or None,
        smtp_password=_secret(env, SMTP_PASSWORD_ENV),
        smtp_from=env.get(SMTP_FROM_ENV) or DEFAULT_SMTP_FROM,
        smtp_to=recipients,
        smtp_starttls=_starttls(env.get(SMTP_STARTTLS_ENV, "on")),
        ui_url=(env.get(UI_URL_ENV) or "").rstrip("/") or None,
        open_meteo_api_key=_secret(env, API_KEY_ENV),
    )
