"""One Open-Meteo request under the shared budget and a deadline: the client's only retry loop.

Before each attempt the ledger must admit the request's weight. A 429 is never a transient
error: its reason names the window, which is waited out when the deadline allows, otherwise the
request fails at once saying what is left and when it can resume. Transient failures (5xx,
resets, timeouts) are retried with backoff, `Retry-After` capped by the deadline. The body is
read within the deadline and a size cap (bounded_read.py). Every message is redacted and no
error carries the `requests` exception (its text holds the full URL, API key included).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import requests
import urllib3

from resources.open_meteo.api_limits import (
    LANDING_MARGIN_SECONDS,
    RateLimits,
    Window,
    cap,
    turning_window,
    window_of_reason,
)
from resources.open_meteo.bounded_read import (
    ERROR_PAGE_BYTES,
    BodyLimit,
    BodyTooLarge,
    BodyTooSlow,
    error_reason,
    read_body,
)
from resources.open_meteo.errors import (
    OpenMeteoAPIError,
    OpenMeteoBudgetError,
    OpenMeteoDeadlineError,
    OpenMeteoError,
    OpenMeteoResponseError,
)
from resources.open_meteo.rate_budget import DEADLINE_SETTING, BudgetLedger

TRANSIENT_STATUSES = (500, 502, 503, 504)
TRANSIENT_ERRORS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.Timeout,
    # Raised by the streamed body read, which urllib3 does not wrap in requests' errors.
    urllib3.exceptions.HTTPError,
)
_STANDARD_SECONDS = {"minute": 60.0, "hour": 3600.0, "day": 86400.0}


@dataclass(frozen=True)
class CallPolicy:
    """How long and how often one request may try; the clock and sleep are injectable."""

    deadline_seconds: float = 3600.0
    timeout_seconds: float = 30.0
    max_retries: int = 5
    backoff_factor: float = 0.5
    time_scale: float = 1.0
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class Need:
    """What the request weighs, the share it leaves, and what the fetch still needs with it."""

    weight: float
    reserve: float
    fetch_weight: float
    fetch_requests: int


def _hhmm(seconds: float) -> str:
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%d %H:%M:%S} UTC"


def _retry_after(headers: Mapping[str, str]) -> float | None:
    try:
        return max(0.0, float(headers.get("Retry-After", "")))
    except ValueError:
        return None


@dataclass(frozen=True)
class Answer:
    """What one attempt got: the status, headers and body (capped) of the answer."""

    status: int
    headers: Mapping[str, str]  # requests' case-insensitive headers
    body: bytes


@dataclass
class ApiCall:
    """One logical GET: `run()` returns (body bytes, HTTP attempts made)."""

    session: requests.Session
    url: str
    params: dict[str, str]
    source: str
    ledger: BudgetLedger
    policy: CallPolicy
    need: Need
    auth: tuple[str, str] | None = None
    # The most an answer of this request may take (None: no cap, for direct tests).
    limit: BodyLimit | None = None
    attempts: int = 0
    failures: int = 0
    started: float = field(default=0.0)
    # The Date header of the answer: when the server made it (forecast hours come after it).
    answer_date: str | None = None

    @property
    def limits(self) -> RateLimits:
        return self.ledger.limits

    def left(self) -> float:
        return self.started + self.policy.deadline_seconds - self.policy.clock()

    def run(self) -> tuple[bytes, int]:
        self.started = self.policy.clock()
        while True:
            spent_at = self._admit()
            answer = self._attempt()
            if answer is None:
                continue
            if answer.status == 200:
                self.answer_date = answer.headers.get("Date")
                return answer.body, self.attempts
            reason = error_reason(answer.body)
            if answer.status == 429:
                self._refused(reason, spent_at, _retry_after(answer.headers))
            elif answer.status in TRANSIENT_STATUSES:
                self._transient(
                    f"HTTP {answer.status}", _retry_after(answer.headers), answer.status, reason
                )
            else:
                raise OpenMeteoAPIError(
                    f"Open-Meteo rejected the request (HTTP {answer.status}): {reason}. "
                    f"Request: {self.source}",
                    answer.status,
                    reason,
                    self.attempts,
                )

    def _admit(self) -> float:
        """Wait until the ledger admits the request's weight; returns when it was counted."""
        margin = LANDING_MARGIN_SECONDS * self.policy.time_scale
        while True:
            now = self.policy.clock()
            turning = turning_window(self.limits, now, margin)
            if turning is not None:
                self._wait(turning.next_start(now), turning.name)
                continue
            # The clock, not `now`: the ledger reads it once it holds the lock, so a wait for
            # the lock never leaves the time it counts with behind another process's.
            admission = self.ledger.try_spend(
                self.need.weight, self.policy.clock, self.need.reserve
            )
            if admission.spent:
                return admission.at
            window = admission.blocked_by
            self._wait(admission.resume_at, window.name, admission.used.get(window.name), window)

    def _wait(
        self, until: float, name: str, used: float | None = None, window: Window | None = None
    ) -> None:
        """Sleep until `until` if the deadline allows; otherwise fail saying when to resume."""
        wait = until - self.policy.clock()
        if wait <= 0:
            return
        if wait > self.left():
            raise OpenMeteoBudgetError(self._budget_message(until, name, used, window), name, until)
        self.policy.sleep(wait)

    def _budget_message(
        self, until: float, name: str, used: float | None, window: Window | None
    ) -> str:
        if window is not None and used is not None:
            may = cap(window, self.need.reserve)
            held = window.limit - may
            state = (
                f"{used:,.0f} of {window.limit:,.0f} weighted calls are used in this {name}, "
                f"{max(0.0, may - used):,.0f} left for this fetch"
                + (f" (it leaves {held:,.0f} to the hourly refresh)" if held > 0 else "")
            )
        else:
            state = f"Open-Meteo refused the request: its {name}'s budget is spent"
        return (
            f"Open-Meteo's budget is spent for this {name}: {state}. This request needs "
            f"{self.need.weight:,.1f} weighted calls; the fetch still needs "
            f"{self.need.fetch_weight:,.1f} in {self.need.fetch_requests} requests. It can resume "
            f"at {_hhmm(until)}, in {until - self.policy.clock():,.0f} s, beyond the deadline "
            f"({self.policy.deadline_seconds:g} s, {DEADLINE_SETTING}): run it again then, "
            f"or raise {DEADLINE_SETTING}. Request: {self.source}"
        )

    def _attempt(self) -> Answer | None:
        """One HTTP attempt within the deadline; None after a transient error (retried).

        Errors are raised outside the `except` blocks: raised inside, they would carry the
        `requests` exception, and its URL with the key, as their context.
        """
        left = self.left()
        if left <= 0:
            self._deadline_passed("no time was left for another attempt")
        self.attempts += 1
        failed = too_large = None
        try:
            return self._get(left)
        except TRANSIENT_ERRORS as exc:
            failed = type(exc).__name__
        except BodyTooSlow as exc:
            failed = f"the body was still arriving, {exc.read:,} bytes read"
        except BodyTooLarge as exc:
            too_large = exc.read
        if too_large is not None:
            raise OpenMeteoResponseError(
                f"Open-Meteo's answer is larger than the cap of {self.limit.bytes:,} bytes "
                f"({too_large:,} read) for {self.limit.shape}; nothing was written. A proxy or "
                f"server may be answering something else: open the request in a browser. "
                f"Request: {self.source}"
            )
        if self.left() <= 0:
            self._deadline_passed(failed)
        self._transient(failed, None)
        return None

    def _get(self, left: float) -> Answer:
        response = self.session.get(
            self.url,
            params=self.params,
            auth=self.auth,
            timeout=(min(10.0, left), min(self.policy.timeout_seconds, left)),
            stream=True,
        )
        if response.status_code != 200:  # only the start of an error page is ever shown
            body = read_body(response, ERROR_PAGE_BYTES, self.left, truncate=True)
        else:
            body = read_body(response, self.limit.bytes if self.limit else None, self.left)
        return Answer(response.status_code, response.headers, body)

    def _transient(
        self, what: str, retry_after: float | None, status: int | None = None, reason: str = ""
    ) -> None:
        self.failures += 1
        if self.failures > self.policy.max_retries:
            if status is not None:
                raise OpenMeteoAPIError(
                    f"Open-Meteo still answered HTTP {status} after {self.attempts} attempts: "
                    f"{reason}. Request: {self.source}",
                    status,
                    reason,
                    self.attempts,
                )
            raise OpenMeteoError(
                f"Open-Meteo unreachable after {self.attempts} attempts ({what}). "
                f"Request: {self.source}"
            )
        delay = self.policy.backoff_factor * 2 ** (self.failures - 1)
        if retry_after is not None:
            delay = retry_after
        if delay > self.left():
            self._deadline_passed(f"{what}; the next try, in {delay:,.0f} s, would be too late")
        self.policy.sleep(delay)

    def _refused(self, reason: str, spent_at: float, retry_after: float | None) -> None:
        """A 429: give the weight back, mark the window the reason names, wait it out or fail."""
        now = self.policy.clock()
        name = window_of_reason(reason)
        self.ledger.refused(self.need.weight, spent_at, name, self.policy.clock)
        if name is not None and self.limits.get(name) is not None:
            return  # the ledger now blocks that window: _admit waits for it or fails
        if name is None and retry_after is not None:
            self._wait(now + retry_after, "minute")
            return
        seconds = _STANDARD_SECONDS[name or "minute"] * self.policy.time_scale
        self._wait(Window(name or "minute", 0.0, seconds).next_start(now), name or "minute")

    def _deadline_passed(self, what: str) -> None:
        raise OpenMeteoDeadlineError(
            f"Open-Meteo gave no answer within the deadline of {self.policy.deadline_seconds:g} s "
            f"({DEADLINE_SETTING}) after {self.attempts} attempts ({what}). Request: {self.source}"
        )
