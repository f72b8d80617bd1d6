"""The text of each alert kind, and the redaction that keeps every secret out of it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum

REDACTED = "***"
PREFIX = "[AQI]"
# Credentials a URL or an error text may carry: `user:pass@` and secret-looking query values.
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@")
_SECRET_QUERY = re.compile(
    r"(?i)\b(apikey|api_key|key|token|access_token|password|secret|sig)=[^&\s\"']+"
)
# Error texts get one line: a traceback or a long message is for the UI, not for a phone.
MAX_DETAIL = 300


class AlertKind(StrEnum):
    """What an alert is about; part of its dedupe key."""

    RUN_FAILURE = "run_failure"
    BLOCKED_COMMIT = "blocked_commit"
    STALE_TABLE = "stale_table"
    UNHEALTHY_NOW = "unhealthy_now"
    UNHEALTHY_VN_AQI = "unhealthy_vn_aqi"
    UNHEALTHY_FORECAST = "unhealthy_forecast"


@dataclass(frozen=True)
class Alert:
    """One message: `title` (the e-mail subject, the first line) and `body`.

    It is sent once per (kind, subject, day); `rank` orders categories, so a worse one later the
    same day is a new message.
    """

    kind: AlertKind
    subject: str
    day: str
    title: str
    body: str
    rank: int = 0

    @property
    def key(self) -> str:
        """The dedupe key: kind, subject (city, table, run) and day."""
        return f"{self.kind}|{self.subject}|{self.day}"

    @property
    def text(self) -> str:
        """The whole message as one text."""
        return f"{PREFIX} {self.title}\n{self.body}".rstrip()


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every known secret, URL credential and secret query value replaced."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _URL_USERINFO.sub(rf"\1{REDACTED}@", text)
    return _SECRET_QUERY.sub(rf"\1={REDACTED}", text)


def one_line(text: str | None, limit: int = MAX_DETAIL) -> str:
    """The first non-empty line of `text`, shortened to `limit` characters."""
    line = next((ln.strip() for ln in (text or "").splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _utc_day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).date().isoformat()


def _run_link(run_id: str, ui_url: str | None) -> str:
    return f"{ui_url}/runs/{run_id}" if ui_url else f"run {run_id}"


def run_failure(
    what: str,
    run_id: str,
    error: str | None,
    steps: Iterable[str],
    timestamp: float,
    ui_url: str | None = None,
) -> Alert:
    """A run that failed, by a step's error or from outside it (run monitoring, a lost worker)."""
    failed = sorted(set(steps))
    where = f"steps {', '.join(failed)} failed" if failed else "the run was marked failed"
    return Alert(
        AlertKind.RUN_FAILURE,
        run_id,
        _utc_day(timestamp),
        f"Run of {what} failed ({run_id[:8]})",
        f"{where}: {one_line(error) or 'no error message'}\n{_run_link(run_id, ui_url)}",
    )


def blocked_commit(
    asset: str,
    check: str,
    run_id: str,
    timestamp: float,
    offending: object = None,
    ui_url: str | None = None,
) -> Alert:
    """A blocking check that failed: the commit was skipped and the table kept its snapshot."""
    rows = f" ({offending} offending rows)" if offending is not None else ""
    return Alert(
        AlertKind.BLOCKED_COMMIT,
        f"{asset}.{check}",
        _utc_day(timestamp),
        f"Commit to {asset} blocked by check {check}",
        f"The check failed{rows}; nothing was written: {asset} keeps its previous snapshot and "
        f"downstream tables are not refreshed from it.\n{_run_link(run_id, ui_url)}",
    )


def stale_table(
    asset: str, last_refresh: str, lag_minutes: float, limit_minutes: float, timestamp: float
) -> Alert:
    """A table past its freshness window (its `data_freshness` check failed)."""
    if lag_minutes < 0:
        since = "today's partition was never refreshed"
    else:
        since = f"last refreshed {last_refresh} UTC, {lag_minutes:.0f} min ago"
    return Alert(
        AlertKind.STALE_TABLE,
        asset,
        _utc_day(timestamp),
        f"{asset} is stale",
        f"{since} (limit {limit_minutes:.0f} min). Check the hourly refresh runs and the "
        "ingest_open_days sensor.",
    )


# Short advice per band, after the EPA's cautionary statements.
ADVICE = {
    "Unhealthy": "Everyone should reduce long or heavy exertion outdoors; sensitive groups avoid it.",
    "Very Unhealthy": "Everyone should avoid long or heavy exertion outdoors.",
    "Hazardous": "Everyone should stay indoors and keep activity low.",
}


def unhealthy_now(
    city: str, name: str, index: str, value: int, category: str, rank: int, day: date, at: str
) -> Alert:
    """A city's current index (NowCast AQI or VN_AQI) at Unhealthy or worse."""
    kind = AlertKind.UNHEALTHY_VN_AQI if index == "VN_AQI" else AlertKind.UNHEALTHY_NOW
    advice = ADVICE.get(category, ADVICE["Unhealthy"])
    return Alert(
        kind,
        city,
        day.isoformat(),
        f"{name}: air is {category} now ({index} {value})",
        f"{index} {value} ({category}) at {at} local time, {day:%a %d %b %Y}. {advice}",
        rank,
    )


def unhealthy_forecast(
    city: str, name: str, value: int, category: str, rank: int, day: date
) -> Alert:
    """The forecast's next local day at Unhealthy or worse."""
    advice = ADVICE.get(category, ADVICE["Unhealthy"])
    return Alert(
        AlertKind.UNHEALTHY_FORECAST,
        city,
        day.isoformat(),
        f"{name}: tomorrow is forecast {category} (AQI up to {value})",
        f"The forecast for {day:%a %d %b %Y} reaches AQI {value} ({category}, US EPA). {advice}",
        rank,
    )
