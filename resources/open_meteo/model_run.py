"""Which CAMS model run Open-Meteo's answers come from (`meta.json`), and when an answer was made.

`GET {base_url}/data/cams_global/static/meta.json` (Open-Meteo's ModelUpdateMetaJson) does not
count against the API limits. Answers change only when a new run becomes available, and a day's
values are final once a run started at or after the day's end has been fetched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Protocol

import dagster as dg
import requests

META_PATH = "/data/cams_global/static/meta.json"
META_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class ModelRun:
    """One model run: when it started (`initialised_at`) and when the API began serving it."""

    initialised_at: datetime
    available_at: datetime


def read_model_run(base_url: str, timeout: float = META_TIMEOUT_SECONDS) -> ModelRun | None:
    """The latest run the API serves, or None when `meta.json` cannot be read or makes no sense."""
    url = f"{base_url.rstrip('/')}{META_PATH}"
    try:
        response = requests.get(url, timeout=timeout)
        if response.status_code != 200:
            return None
        body = response.json()
        run = ModelRun(
            initialised_at=datetime.fromtimestamp(int(body["last_run_initialisation_time"]), UTC),
            available_at=datetime.fromtimestamp(int(body["last_run_availability_time"]), UTC),
        )
    except (requests.RequestException, ValueError, KeyError, TypeError, OverflowError):
        return None
    read_at = answer_instant(response.headers.get("Date"))
    if run.initialised_at > read_at:
        # A run from the future would make every day fetched from it final, forever.
        dg.get_dagster_logger(__name__).warning(
            f"{META_PATH} announces a model run initialised at "
            f"{run.initialised_at.isoformat()}, in the future of its answer "
            f"({read_at.isoformat()}): the run is ignored, treated as unknown."
        )
        return None
    return run


class WarningLog(Protocol):
    """Where a warning goes: a Dagster context's log or a `logging.Logger`."""

    def warning(self, msg: str) -> object: ...


def answers_model_run(base_url: str, shown_url: str, log: WarningLog) -> ModelRun | None:
    """The run the coming answers are at least as new as (read before fetching); None, with one
    warning naming `shown_url` (the base URL without credentials), when `meta.json` cannot be
    read."""
    run = read_model_run(base_url)
    if run is None:
        log.warning(
            f"{shown_url}{META_PATH} cannot be read: model_run_at is null and the fetched days "
            "count as not final (the hourly refresh keeps yesterday open)."
        )
    return run


def answer_instant(date_header: str | None) -> datetime:
    """When the server made an answer: its `Date` header, else this machine's clock."""
    if date_header:
        try:
            return parsedate_to_datetime(date_header).astimezone(UTC)
        except (TypeError, ValueError):
            pass
    return datetime.now(UTC)


def is_final(day: date, model_run_at: datetime | None) -> bool:
    """Whether a day fetched from the run started at `model_run_at` has its final values."""
    if model_run_at is None:
        return False
    day_end = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
    return model_run_at >= day_end
