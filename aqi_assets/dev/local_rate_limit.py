"""The local server's limiter: Open-Meteo's `RateLimiter.swift` with configurable limits.

Modelled on the server code, independently of the client's cost model so tests can catch a
client that gets it wrong: each served request adds `calculateQueryWeight` (per location
`max(1, v/10, v/10 * days/14)`) to the current minute, hour and day (fixed windows); a request
is refused with HTTP 429 and the window's exact reason once a window's usage has reached its
limit, checked minute, then hour, then day. Off unless configured.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import date

from resources.open_meteo.api_limits import RateLimits

REASONS = {
    "minute": "Minutely API request limit exceeded. Please try again in one minute.",
    "hour": "Hourly API request limit exceeded. Please try again in the next hour.",
    "day": "Daily API request limit exceeded. Please try again tomorrow.",
}


def query_weight(query: dict[str, str]) -> float:
    """`calculateQueryWeight` of a valid air-quality query (one domain: CAMS)."""
    locations = len(query["latitude"].split(","))
    variables = len([v for v in query.get("hourly", "").split(",") if v])
    start = date.fromisoformat(query["start_date"])
    end = date.fromisoformat(query["end_date"])
    days = (end - start).days + 1  # the time range runs to the end of end_date
    variables_fraction = variables / 10
    weight = max(variables_fraction, days / 14 * variables_fraction)
    return locations * max(1.0, weight)


class LocalRateLimiter:
    """Usage per fixed window; `configure("10/min", time_scale=0.05)` shortens every window."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._limits = RateLimits()
        self._usage: dict[str, tuple[float, float]] = {}
        self.refused: dict[str, int] = {}
        self.peak: dict[str, float] = {}
        self.served: list[tuple[float, float]] = []

    def configure(self, spec: str = "off", time_scale: float = 1.0) -> None:
        """Limits as `600/min,5000/h,10000/d` or `off`; usage and counters start again."""
        with self._lock:
            self._limits = RateLimits.parse(spec, time_scale)
            self._usage.clear()
            self.refused.clear()
            self.peak.clear()
            self.served.clear()

    def _current(self, name: str, seconds: float, now: float) -> float:
        start, used = self._usage.get(name, (math.nan, 0.0))
        return used if start == math.floor(now / seconds) * seconds else 0.0

    def refusal(self) -> str | None:
        """The reason to refuse a request arriving now (and count the refusal), or None."""
        now = self._clock()
        with self._lock:
            for window in self._limits.windows:
                if self._current(window.name, window.seconds, now) >= window.limit:
                    self.refused[window.name] = self.refused.get(window.name, 0) + 1
                    return REASONS[window.name]
        return None

    def count(self, query: dict[str, str]) -> float:
        """Add a served request's weight to every window; returns the weight."""
        weight = query_weight(query)
        now = self._clock()
        with self._lock:
            self.served.append((now, weight))
            for window in self._limits.windows:
                used = self._current(window.name, window.seconds, now) + weight
                self._usage[window.name] = (math.floor(now / window.seconds) * window.seconds, used)
                self.peak[window.name] = max(self.peak.get(window.name, 0.0), used)
        return weight

    def stats(self) -> dict[str, object]:
        """Limits, refusals per window and the highest usage any window reached."""
        if self._limits.off:
            return {"limits": "off"}
        with self._lock:
            return {
                "limits": self._limits.describe(),
                "refused": dict(self.refused),
                "peak": dict(self.peak),
            }


def hang(seconds: float) -> None:
    """Hold an accepted connection without answering (the deadline test's server)."""
    time.sleep(seconds)
