"""Send an alert to a Slack-compatible webhook and by SMTP; a failure is logged, never raised."""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import urllib.request
from email.message import EmailMessage
from urllib.parse import urlsplit

import dagster as dg
from pydantic import Field

from aqi_assets.alerts.alert_messages import Alert, scrub

TIMEOUT_SECONDS = 10.0


def post_webhook(url: str, text: str, timeout: float = TIMEOUT_SECONDS) -> None:
    """POST `{"text": text}`, the payload Slack, Mattermost, Google Chat and most relays take."""
    request = urllib.request.Request(
        url,
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    # A non-2xx answer raises HTTPError.
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        answer.read()


def send_mail(
    host: str,
    port: int,
    sender: str,
    recipients: list[str],
    subject: str,
    text: str,
    user: str | None = None,
    password: str | None = None,
    starttls: bool = True,
    timeout: float = TIMEOUT_SECONDS,
) -> None:
    """One plain-text e-mail through `host`, with STARTTLS and login when configured."""
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, sender, ", ".join(recipients)
    message.set_content(text)
    with smtplib.SMTP(host, port, timeout=timeout) as smtp:
        if starttls:
            smtp.starttls(context=ssl.create_default_context())
        if user:
            smtp.login(user, password or "")
        smtp.send_message(message)


def public_endpoint(url: str) -> str:
    """The webhook as logs show it: scheme and host only (Slack-like paths are the token)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}/…"


class AlertChannels(dg.ConfigurableResource):
    """Where alerts go: a webhook and/or SMTP recipients. Secrets come in as dg.EnvVar."""

    webhook_url: str | None = Field(default=None, description="Slack-compatible webhook (secret).")
    smtp_host: str | None = Field(default=None, description="SMTP server; unset: no e-mail.")
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = Field(default=None, description="SMTP password (secret).")
    smtp_from: str = "aqi-lakehouse@localhost"
    smtp_to: list[str] = Field(default_factory=list)
    smtp_starttls: bool = True
    ui_url: str | None = Field(default=None, description="Dagster UI base URL for run links.")
    open_meteo_api_key: str | None = Field(
        default=None, description="Only to redact it from any alert text (secret)."
    )
    timeout_seconds: float = TIMEOUT_SECONDS

    @property
    def configured(self) -> bool:
        """Whether any channel is set."""
        return bool(self.webhook_url or self.smtp_host)

    def secrets(self) -> list[str]:
        """Values no message or log line may contain: the webhook URL and its path segments (the
        token of Slack-like hooks), the SMTP password, the Open-Meteo API key."""
        found = [self.smtp_password, self.open_meteo_api_key]
        if self.webhook_url:
            parts = urlsplit(self.webhook_url)
            found += [self.webhook_url, parts.path, parts.query, parts.password]
            found += [seg for seg in parts.path.split("/") if len(seg) >= 8]
        return [s for s in found if s]

    def scrub(self, text: str) -> str:
        """`text` without any secret this resource knows."""
        return scrub(text, self.secrets())

    def deliver(self, alert: Alert, log: logging.Logger | dg.DagsterLogManager) -> bool:
        """Send `alert` on every channel; True when at least one accepted it. Never raises: a
        delivery failure is logged (without secrets) and the caller decides whether to retry."""
        text, title = self.scrub(alert.text), self.scrub(alert.title)
        if not self.configured:
            log.info(f"Alert (no channel configured, AQI_ALERT_*): {text}")
            return True
        delivered = False
        if self.webhook_url:
            where = public_endpoint(self.webhook_url)
            try:
                post_webhook(self.webhook_url, text, self.timeout_seconds)
                delivered = True
                log.info(f"Alert sent to webhook {where}: {title}")
            except Exception as exc:  # any failure of the receiver: log it, never fail the tick
                log.error(
                    self.scrub(f"Alert to webhook {where} failed: {type(exc).__name__}: {exc}")
                )
        if self.smtp_host:
            where = f"{self.smtp_host}:{self.smtp_port}"
            try:
                send_mail(
                    self.smtp_host,
                    self.smtp_port,
                    self.smtp_from,
                    self.smtp_to,
                    f"[AQI] {title}",
                    text,
                    self.smtp_user,
                    self.smtp_password,
                    self.smtp_starttls,
                    self.timeout_seconds,
                )
                delivered = True
                log.info(
                    f"Alert e-mailed through {where} to {len(self.smtp_to)} recipients: {title}"
                )
            except Exception as exc:  # SMTP down, refusing, bad login: log it, never fail the tick
                log.error(
                    self.scrub(f"Alert e-mail through {where} failed: {type(exc).__name__}: {exc}")
                )
        return delivered
