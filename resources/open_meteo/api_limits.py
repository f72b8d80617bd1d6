"""Open-Meteo's cost model and limiter, as its server code defines them (SPEC section 8).

`request_weight` is `ForecastApiResult.calculateQueryWeight`; `RateLimits` are the fixed windows
of `RateLimiter.swift`, with its exact refusal reasons. The client, the planner and the ledger
all decide with `blocking_window`, so what a plan promises is what the client does.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_RATE_LIMITS = "600/min,5000/h,10000/d"
REFERENCE_DAYS = 14
REFERENCE_VARIABLES = 10

REASONS = {
    "minute": "Minutely API request limit exceeded. Please try again in one minute.",
    "hour": "Hourly API request limit exceeded. Please try again in the next hour.",
    "day": "Daily API request limit exceeded. Please try again tomorrow.",
}
_UNITS = {"min": ("minute", 60.0), "h": ("hour", 3600.0), "d": ("day", 86400.0)}
_SPEC_ITEM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(min|h|d)\s*$")


def location_weight(n_variables: int, days: int) -> float:
    """Weighted calls of one location: `max(1, v/10, v/10 * days/14)`."""
    variables = n_variables / REFERENCE_VARIABLES
    return max(1.0, variables, variables * days / REFERENCE_DAYS)


def request_weight(n_locations: int, n_variables: int, days: int) -> float:
    """Weighted calls of one request: the sum over its locations (same days for each)."""
    return n_locations * location_weight(n_variables, days)


@dataclass(frozen=True)
class Window:
    """One fixed window of the limiter: `limit` weighted calls per `seconds`, aligned to the epoch.

    `name` is minute, hour or day; `seconds` differs from the name's length only when a test
    shortens every window by the same factor.
    """

    name: str
    limit: float
    seconds: float

    @property
    def unit(self) -> str:
        return {"minute": "min", "hour": "h", "day": "d"}[self.name]

    @property
    def reason(self) -> str:
        """The server's exact refusal reason for this window."""
        return REASONS[self.name]

    def start(self, now: float) -> float:
        """Start (unix seconds) of the window holding `now`."""
        return math.floor(now / self.seconds) * self.seconds

    def next_start(self, now: float) -> float:
        """Start of the window after the one holding `now`."""
        return self.start(now) + self.seconds


@dataclass(frozen=True)
class RateLimits:
    """The limits in force, minute first: the order the server checks them in. Empty is `off`."""

    windows: tuple[Window, ...] = ()

    @classmethod
    def parse(cls, spec: str, time_scale: float = 1.0) -> RateLimits:
        """`600/min,5000/h,10000/d` (any subset) or `off`; `time_scale` shortens windows in tests."""
        if spec.strip().lower() == "off":
            return cls()
        windows = {}
        for item in spec.split(","):
            match = _SPEC_ITEM.match(item)
            if not match:
                raise ValueError(
                    f"{item.strip()!r} is not a limit: write LIMIT/UNIT with UNIT min, h or d, "
                    f"e.g. {DEFAULT_RATE_LIMITS!r}, or 'off'"
                )
            name, seconds = _UNITS[match.group(2)]
            if name in windows:
                raise ValueError(f"the {name} limit is given twice in {spec!r}")
            limit = float(match.group(1))
            if limit <= 0:
                raise ValueError(f"{item.strip()!r}: a limit must be positive (or use 'off')")
            windows[name] = Window(name, limit, seconds * time_scale)
        order = ("minute", "hour", "day")
        return cls(tuple(windows[n] for n in order if n in windows))

    @property
    def off(self) -> bool:
        return not self.windows

    def get(self, name: str) -> Window | None:
        """The window called `name`, if limited."""
        return next((w for w in self.windows if w.name == name), None)

    def describe(self) -> str:
        """`600/min, 5,000/h, 10,000/d`, or `off`."""
        if self.off:
            return "off"
        return ", ".join(f"{w.limit:,.0f}/{w.unit}" for w in self.windows)


def default_limits(base_url: str) -> str:
    """The free tier's limits for Open-Meteo's free host, `off` for any other.

    As the server decides: it counts a request when its host contains `open-meteo.com` and does
    not start with `customer-` (the commercial host has per-key limits, a self-hosted or local
    server none).
    """
    host = (urlsplit(base_url).hostname or "").lower()
    free = "open-meteo.com" in host and not host.startswith("customer-")
    return DEFAULT_RATE_LIMITS if free else "off"


def window_of_reason(reason: str) -> str | None:
    """minute, hour or day for one of the server's three refusal reasons; None for any other."""
    return next((name for name, text in REASONS.items() if text == reason.strip()), None)


# The server counts a request when it arrives, so one counted by the ledger in a window's last
# moments can land in the next window, which the ledger never charged for it.
LANDING_MARGIN_SECONDS = 1.0


def turning_window(limits: RateLimits, now: float, margin: float) -> Window | None:
    """The first window that turns within `margin` seconds after `now`, or None.

    A request sent then could be counted in the next window by the server but in this one by
    the ledger; the client waits for the turn instead (at most `margin`).
    """
    return next((w for w in limits.windows if w.next_start(now) - now < margin), None)


def cap(window: Window, reserve: float) -> float:
    """What a caller may fill of `window`: a bulk fetch leaves `reserve` (a share) of the hour
    and the day for the hourly refresh; the minute is never reserved (waiting one is cheap)."""
    return window.limit if window.name == "minute" else window.limit * (1.0 - reserve)


def blocking_window(
    limits: RateLimits, used: Mapping[str, float], weight: float, reserve: float = 0.0
) -> Window | None:
    """The first window (minute, hour, day) that must pass before a request of `weight` is sent.

    The server refuses once a window's usage has reached its limit, and serves the request that
    crosses it. The client is stricter so a plan spends evenly and leaves the reserve: it sends
    only what fits under the window's cap, or into an empty window (a request heavier than the
    cap would otherwise never go).
    """
    for window in limits.windows:
        spent = used.get(window.name, 0.0)
        if spent >= window.limit:
            return window
        if spent > 0 and spent + weight > cap(window, reserve) + 1e-9:
            return window
    return None
