"""The local server's model clock: CAMS global runs, their `meta.json`, and how runs revise hours.

Like Open-Meteo's CAMS global domain (Sources/App/Cams/CamsDomain.swift, ModelUpdateMetaJson):
runs start at 00Z and 12Z, become available about 10 h later and reach 120 h ahead (121 hourly
steps). An hour up to the latest available run's start has its final value (the analysis of a
run started at or after it); a later hour, past or forecast, carries the latest run's estimate,
which each newer run revises. So a day becomes final once the next day's 00Z run is available.
"""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime, timedelta

META_PATH = "/data/cams_global/static/meta.json"
RUN_INTERVAL = timedelta(hours=12)
AVAILABILITY_DELAY = timedelta(hours=10)
# The conversion finishes a little before the run is published on the API servers.
MODIFICATION_LEAD = timedelta(minutes=20)
FORECAST_STEPS = 121
HOUR = 3600
# How far a run's estimate of an hour may be off its final value (fraction of PM2.5).
REVISION_SPREAD = 0.3


class ModelClock:
    """The server's notion of now: real time unless a test sets it (`clock.set(datetime)`)."""

    def __init__(self, now: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._now = now

    def set(self, now: datetime | None) -> None:
        """Freeze the clock at `now` (timezone-aware), or back to real time with None."""
        if now is not None and now.tzinfo is None:
            raise ValueError(
                "the clock needs a timezone-aware instant, e.g. datetime(..., tzinfo=UTC)"
            )
        with self._lock:
            self._now = now

    def now(self) -> datetime:
        """The current instant of the server."""
        with self._lock:
            return self._now or datetime.now(UTC)


def latest_run(now: datetime) -> datetime:
    """Start of the newest run available at `now` (00Z or 12Z, published 10 h after it starts)."""
    ready = now.astimezone(UTC) - AVAILABILITY_DELAY
    interval = int(RUN_INTERVAL.total_seconds())
    return datetime.fromtimestamp(int(ready.timestamp()) // interval * interval, UTC)


def meta_json(now: datetime) -> dict[str, int]:
    """`meta.json` of cams_global at `now`, field for field as Open-Meteo's ModelUpdateMetaJson."""
    run = latest_run(now)
    available = run + AVAILABILITY_DELAY
    return {
        "last_run_initialisation_time": int(run.timestamp()),
        "last_run_modification_time": int((available - MODIFICATION_LEAD).timestamp()),
        "last_run_availability_time": int(available.timestamp()),
        "temporal_resolution_seconds": HOUR,
        # End of the updated range, exclusive.
        "data_end_time": int(run.timestamp()) + FORECAST_STEPS * HOUR,
        "update_interval_seconds": int(RUN_INTERVAL.total_seconds()),
    }


def horizon_hour(now: datetime) -> int:
    """First hour (since the epoch) the latest run does not reach: values are null from there."""
    return int(latest_run(now).timestamp()) // HOUR + FORECAST_STEPS


def revise(pm25: list[float], hours: list[int], now: datetime) -> list[float]:
    """PM2.5 as the latest run at `now` gives it: final values up to its start, estimates after.

    The estimate depends on the hour and the run, so a newer run changes every hour it revises.
    """
    run_hour = int(latest_run(now).timestamp()) // HOUR
    if not hours or hours[-1] <= run_hour:
        return pm25
    return [
        value
        if hour <= run_hour
        else round(max(0.5, value * (1 + REVISION_SPREAD * (_unit(hour, run_hour) - 0.5))), 1)
        for value, hour in zip(pm25, hours, strict=True)
    ]


def _unit(hour: int, run_hour: int) -> float:
    x = math.sin(hour * 12.9898 + run_hour * 78.233) * 43758.5453
    return x - math.floor(x)
