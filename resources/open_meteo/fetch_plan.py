"""The requests a fetch makes and what they cost, before any is sent.

`plan_fetch` sizes requests from the cost model so a plan spends the budget evenly, then lays
them on the limiter's fixed windows the way the client will send them: the CLI shows the plan
before a backfill, the bronze asset logs it, and the client sends exactly its requests.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from resources.open_meteo.api_limits import (
    RateLimits,
    Window,
    blocking_window,
    cap,
    location_weight,
    request_weight,
)
from resources.open_meteo.plan_text import describe_plan

DEFAULT_RESERVE = 0.1
# Without the caller's word (`bulk`), a fetch of at most this many days is taken for the hourly
# refresh (today, and yesterday early in the day) and anything longer for bulk, which leaves
# the reserve to it. The refresh's callers say so: the forecast asks for 6 days.
REFRESH_DAYS = 2
# Requests weigh at most this share of the smallest cap, so a minute holds two of them and no
# request is worth an hour of budget.
REQUEST_SHARE = 0.5


@dataclass(frozen=True)
class PlannedRequest:
    """One request: locations [first_location, stop_location) of the list, days first..last."""

    first_location: int
    stop_location: int
    first_day: date
    last_day: date
    weight: float

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


@dataclass(frozen=True)
class FetchPlan:
    """A fetch's requests, their weighted calls, and when the budget lets each go at the earliest."""

    n_locations: int
    first_day: date
    last_day: date
    n_variables: int
    limits: RateLimits
    reserve: float
    bulk: bool
    requests: tuple[PlannedRequest, ...]
    start: datetime
    send_at: tuple[datetime, ...]
    waited_for: tuple[str | None, ...]

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def weight(self) -> float:
        """Weighted calls of the whole fetch."""
        return sum(r.weight for r in self.requests)

    @property
    def shortest(self) -> timedelta:
        """Earliest end: the last request's minute (or its send time without a minute limit)."""
        return self._end() - self.start

    @property
    def exceeds_hour(self) -> bool:
        """More than one hour's budget (what this fetch may spend of it)."""
        return self._exceeds("hour")

    @property
    def exceeds_day(self) -> bool:
        """More than one day's budget (what this fetch may spend of it)."""
        return self._exceeds("day")

    @property
    def needs_confirmation(self) -> bool:
        return self.exceeds_hour or self.exceeds_day

    def _exceeds(self, name: str) -> bool:
        window = self.limits.get(name)
        return window is not None and self.weight > self.cap(window) + 1e-9

    def reserving(self) -> bool:
        """Whether this fetch leaves a reserve of a limited hour or day."""
        return (
            self.bulk and self.reserve > 0 and any(w.name != "minute" for w in self.limits.windows)
        )

    def cap(self, window: Window) -> float:
        """What this fetch may fill of `window`."""
        return cap(window, self.reserve if self.bulk else 0.0)

    def _end(self) -> datetime:
        if not self.send_at:
            return self.start
        minute = self.limits.get("minute")
        last = self.send_at[-1]
        if minute is None:
            return last
        return _utc(minute.next_start(last.timestamp()))

    def describe(self) -> str:
        """The plan in a few lines of plain text (what `aqi backfill` and the bronze log show)."""
        return describe_plan(self)


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _even_parts(total: int, most: int) -> list[int]:
    """`total` split into the fewest parts of at most `most`, as equal as they can be."""
    count = math.ceil(total / most)
    base, extra = divmod(total, count)
    return [base + 1] * extra + [base] * (count - extra)


def request_shape(
    n_locations: int,
    days: int,
    n_variables: int,
    limits: RateLimits,
    reserve: float,
    max_locations_per_call: int,
    max_days_per_call: int,
) -> tuple[int, int]:
    """(locations, days) per request: as large as the caps allow, each request under the target."""
    target = min((cap(w, reserve) * REQUEST_SHARE for w in limits.windows), default=math.inf)
    locations = min(n_locations, max_locations_per_call)
    floor_weight = location_weight(n_variables, 1)  # what any request of a location costs
    if locations * floor_weight > target:
        locations = max(1, math.floor(target / floor_weight))
    if math.isinf(target) or n_variables == 0:
        return locations, min(days, max_days_per_call)
    # Largest d with locations * v/10 * d/14 <= target (never below the 14 days the floor pays).
    per_location = target / locations
    longest = math.floor(per_location * 14 * 10 / n_variables + 1e-9)
    longest = max(longest, 14 if location_weight(n_variables, 14) <= per_location else 1)
    return locations, max(1, min(days, max_days_per_call, longest))


def plan_fetch(
    locations: Sequence[object] | int,
    first_day: date,
    last_day: date,
    variables: Sequence[str] | int,
    limits: RateLimits,
    *,
    reserve: float = DEFAULT_RESERVE,
    bulk: bool | None = None,
    max_locations_per_call: int = 50,
    max_days_per_call: int = 92,
    start: datetime | None = None,
    used: Mapping[str, float] | None = None,
) -> FetchPlan:
    """The requests for locations x first_day..last_day (inclusive) and their earliest schedule.

    `bulk` makes the fetch leave `reserve` of the hour's and the day's budget: the caller says
    what the fetch is for (False: the hourly refresh or the forecast; default: more than
    REFRESH_DAYS days); `start` (default now) and `used` (weighted calls already counted in
    the windows holding `start`, e.g. from the ledger) place the schedule in real windows.
    """
    if last_day < first_day:
        raise ValueError(f"last day {last_day} is before first day {first_day}")
    n = locations if isinstance(locations, int) else len(locations)
    v = variables if isinstance(variables, int) else len(variables)
    days = (last_day - first_day).days + 1
    is_bulk = days > REFRESH_DAYS if bulk is None else bulk
    held = reserve if is_bulk else 0.0
    per_call, days_per_call = request_shape(
        n, days, v, limits, held, max_locations_per_call, max_days_per_call
    )
    requests = []
    stop = 0
    for batch in _even_parts(n, per_call) if n else []:
        first, stop = stop, stop + batch
        day = first_day
        for length in _even_parts(days, days_per_call):
            last = day + timedelta(days=length - 1)
            requests.append(
                PlannedRequest(first, stop, day, last, request_weight(batch, v, length))
            )
            day = last + timedelta(days=1)
    begin = start.timestamp() if start else time.time()
    send_at, waited = schedule([r.weight for r in requests], limits, held, begin, used or {})
    return FetchPlan(
        n_locations=n,
        first_day=first_day,
        last_day=last_day,
        n_variables=v,
        limits=limits,
        reserve=reserve,
        bulk=is_bulk,
        requests=tuple(requests),
        start=_utc(begin),
        send_at=tuple(_utc(t) for t in send_at),
        waited_for=tuple(waited),
    )


def schedule(
    weights: Sequence[float],
    limits: RateLimits,
    reserve: float,
    start: float,
    used: Mapping[str, float],
) -> tuple[list[float], list[str | None]]:
    """Earliest send time of each request, and the window each waited for (None: none)."""
    counted = {w.name: (w.start(start), used.get(w.name, 0.0)) for w in limits.windows}
    now = start
    times: list[float] = []
    waits: list[str | None] = []
    for weight in weights:
        waited: str | None = None
        while True:
            current = {
                w.name: counted[w.name][1] if counted[w.name][0] == w.start(now) else 0.0
                for w in limits.windows
            }
            blocker = blocking_window(limits, current, weight, reserve)
            if blocker is None:
                break
            if waited is None or blocker.seconds > limits.get(waited).seconds:
                waited = blocker.name
            now = blocker.next_start(now)
        for w in limits.windows:
            counted[w.name] = (w.start(now), current[w.name] + weight)
        times.append(now)
        waits.append(waited)
    return times, waits
