"""Open-Meteo Air Quality API client: planned, paced by a shared budget, strict about answers."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol
from urllib.parse import urlencode

import dagster as dg
import orjson
import requests
from pydantic import Field, PrivateAttr

from resources.open_meteo.answers import (
    LocationPayload,
    OpenMeteoError,
    OpenMeteoResponseError,
    match_items,
)
from resources.open_meteo.api_call import (
    TRANSIENT_STATUSES,
    ApiCall,
    CallPolicy,
    Need,
    OpenMeteoAPIError,
    OpenMeteoBudgetError,
    OpenMeteoDeadlineError,
)
from resources.open_meteo.api_limits import RateLimits, default_limits
from resources.open_meteo.bounded_read import SHOWN_CHARACTERS, BodyLimit
from resources.open_meteo.fetch_plan import DEFAULT_RESERVE, FetchPlan, plan_fetch
from resources.open_meteo.model_run import answer_instant
from resources.open_meteo.rate_budget import BudgetLedger
from resources.open_meteo.redaction import protect, public_url, split_credentials

__all__ = [
    "TRANSIENT_STATUSES",
    "FetchResult",
    "LocationPayload",
    "OpenMeteoAPIError",
    "OpenMeteoBudgetError",
    "OpenMeteoDeadlineError",
    "OpenMeteoError",
    "OpenMeteoResource",
    "OpenMeteoResponseError",
]

DEFAULT_BASE_URL = "https://air-quality-api.open-meteo.com"
API_PATH = "/v1/air-quality"


class LocationLike(Protocol):
    """Anything with a key and coordinates (e.g. aqi_assets.config.reference.Location)."""

    key: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class FetchResult:
    """Items fetched (for a range, or one request), the HTTP attempts and weighted calls it took."""

    items: tuple[LocationPayload, ...]
    api_calls: int
    weighted_calls: float = 0.0
    # When the server made the answer: hours after it are forecasts.
    fetched_at: datetime | None = None


def coordinate(value: float) -> str:
    """A coordinate in full, positional (`105.8542`, never `105.854` or `1e-05`)."""
    return format(Decimal(repr(float(value))), "f")


class OpenMeteoResource(dg.ConfigurableResource):
    """Client of `GET {base_url}/v1/air-quality` returning hourly series per location."""

    base_url: str = Field(
        default=DEFAULT_BASE_URL, description="API base URL (AQI_OPEN_METEO_URL)."
    )
    api_key: str | None = Field(
        default=None, description="API key for the commercial host (AQI_OPEN_METEO_API_KEY)."
    )
    # Required, with no default: the pollutant catalogue (aqi_assets/catalog/pollutants.py) is
    # the one list, and resources/ never imports aqi_assets; the profile passes it.
    hourly_variables: list[str] = Field(
        description="Hourly variables requested (the profile passes the pollutant catalogue's)."
    )
    rate_limits: str | None = Field(
        default=None,
        description="Weighted calls per window, e.g. 600/min,5000/h,10000/d, or off "
        "(AQI_OPEN_METEO_RATE_LIMITS); unset: the free tier's on Open-Meteo's free host, else off.",
    )
    budget_reserve: float = Field(
        default=DEFAULT_RESERVE,
        description="Share of the hour's and the day's budget a backfill leaves to the refresh.",
    )
    ledger_path: str | None = Field(
        default=None,
        description="SQLite file of the budget shared by every run of the instance; "
        "unset: this process only.",
    )
    deadline_seconds: float = Field(
        default=3600.0,
        description="Longest one request may take, budget waits and retries included "
        "(AQI_OPEN_METEO_DEADLINE).",
    )
    rate_window_scale: float = Field(
        default=1.0, description="Shortens every limit window by this factor (tests)."
    )
    timeout_seconds: float = Field(default=30.0, description="Read timeout per attempt.")
    max_retries: int = Field(default=5, description="Retries of transient failures (5xx, resets).")
    backoff_factor: float = Field(default=0.5, description="Exponential backoff base (seconds).")
    max_locations_per_call: int = Field(default=50, description="Most locations in one call.")
    max_days_per_call: int = Field(default=92, description="Most days in one call.")

    _session: requests.Session | None = PrivateAttr(default=None)
    _ledger: BudgetLedger | None = PrivateAttr(default=None)

    @property
    def public_base_url(self) -> str:
        """The base URL without credentials: what sources, logs and errors show."""
        return public_url(self.base_url).rstrip("/")

    def limits(self) -> RateLimits:
        """The limits in force (`rate_limits` parsed)."""
        spec = self.rate_limits or default_limits(self.base_url)
        return RateLimits.parse(spec, self.rate_window_scale)

    def ledger(self) -> BudgetLedger:
        """The budget ledger of this API host."""
        if self._ledger is None:
            # A locked ledger is a budget wait: it may last the request's deadline, no longer.
            self._ledger = BudgetLedger(
                self.ledger_path,
                self.public_base_url,
                self.limits(),
                lock_timeout=self.deadline_seconds,
            )
        return self._ledger

    def _http(self) -> requests.Session:
        if self._session is None:
            _, auth = split_credentials(self.base_url)
            protect(self.api_key, *(auth or ()))
            # No urllib3 Retry: ApiCall is the one retry loop, so attempts are counted and
            # bounded by the deadline.
            self._session = requests.Session()
        return self._session

    def _params(self, locations: Sequence[LocationLike], start: date, end: date) -> dict[str, str]:
        return {
            "latitude": ",".join(coordinate(loc.latitude) for loc in locations),
            "longitude": ",".join(coordinate(loc.longitude) for loc in locations),
            "hourly": ",".join(self.hourly_variables),
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "timezone": "GMT",
        }

    def plan(
        self,
        locations: Sequence[LocationLike],
        start: date,
        end: date,
        refresh: bool | None = None,
    ) -> FetchPlan:
        """The requests for days start..end (inclusive), placed in the budget's current windows.

        `refresh`: the caller's word on what the fetch is for. True (the hourly refresh, the
        forecast) may spend the reserve; False (a backfill) leaves it; None: judged by days.
        """
        limits = self.limits()
        used = None if limits.off else self.ledger().usage(time.time)
        return plan_fetch(
            locations,
            start,
            end,
            self.hourly_variables,
            limits,
            reserve=self.budget_reserve,
            max_locations_per_call=self.max_locations_per_call,
            max_days_per_call=self.max_days_per_call,
            used=used,
            bulk=None if refresh is None else not refresh,
        )

    def fetch_requests(
        self,
        locations: Sequence[LocationLike],
        start: date,
        end: date,
        plan: FetchPlan | None = None,
        refresh: bool | None = None,
    ) -> Iterator[FetchResult]:
        """Hourly series of every location for days start..end (inclusive), one request at a time.

        Each answer can be handed on (to Spark) before the next is asked for, so memory holds
        one request's answer, not the range's. `plan` defaults to `self.plan(..., refresh)`.
        """
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        plan = plan or self.plan(locations, start, end, refresh)
        logger = dg.get_dagster_logger()
        clean_base, auth = split_credentials(self.base_url)
        url = f"{clean_base.rstrip('/')}{API_PATH}"
        policy = CallPolicy(
            deadline_seconds=self.deadline_seconds,
            timeout_seconds=self.timeout_seconds,
            max_retries=self.max_retries,
            backoff_factor=self.backoff_factor,
            time_scale=self.rate_window_scale,
        )
        reserve = plan.reserve if plan.bulk else 0.0
        for index, request in enumerate(plan.requests):
            batch = list(locations[request.first_location : request.stop_location])
            params = self._params(batch, request.first_day, request.last_day)
            source = f"{self.public_base_url}{API_PATH}?{urlencode(params)}"
            query = dict(params, apikey=self.api_key) if self.api_key else params
            rest = plan.requests[index:]
            need = Need(request.weight, reserve, sum(r.weight for r in rest), len(rest))
            limit = BodyLimit.of(len(batch), request.days * 24, len(self.hourly_variables))
            call = ApiCall(
                self._http(), url, query, source, self.ledger(), policy, need, auth, limit
            )
            raw, attempts = call.run()
            logger.debug(
                f"Open-Meteo: {len(batch)} locations {request.first_day}..{request.last_day}, "
                f"{request.weight:,.1f} weighted calls, {attempts} attempts"
            )
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                start_of = raw[:SHOWN_CHARACTERS].decode("utf-8", "replace")
                raise OpenMeteoResponseError(  # its message is redacted (a page may echo the key)
                    f"Open-Meteo response is not valid JSON: {start_of!r}; nothing was written. "
                    f"A proxy may be answering instead of the API. Request: {source}"
                ) from None
            del raw
            keys = [loc.key for loc in batch]
            items = match_items(
                body, keys, self.hourly_variables, request.first_day, request.last_day, source
            )
            del body  # the parsed answer is several times the size of its items' text
            fetched_at = answer_instant(call.answer_date)
            yield FetchResult(tuple(items), attempts, request.weight, fetched_at)

    def fetch_hourly(
        self,
        locations: Sequence[LocationLike],
        start: date,
        end: date,
        refresh: bool | None = None,
    ) -> FetchResult:
        """Hourly series of every location for days start..end (inclusive), in few calls."""
        answers = list(self.fetch_requests(locations, start, end, refresh=refresh))
        return FetchResult(
            items=tuple(item for answer in answers for item in answer.items),
            api_calls=sum(answer.api_calls for answer in answers),
            weighted_calls=sum(answer.weighted_calls for answer in answers),
        )
