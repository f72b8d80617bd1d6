"""Open-Meteo Air Quality API client: batched, retried, strict about the response shape."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol
from urllib.parse import urlencode

import dagster as dg
import requests
from pydantic import Field, PrivateAttr
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

DEFAULT_BASE_URL = "https://air-quality-api.open-meteo.com"
API_PATH = "/v1/air-quality"
DEFAULT_VARIABLES = [
    "pm2_5",
    "pm10",
    "ozone",
    "nitrogen_dioxide",
    "sulphur_dioxide",
    "carbon_monoxide",
    "aerosol_optical_depth",
    "dust",
    "uv_index",
    "us_aqi",
    "us_aqi_pm2_5",
]
RETRY_STATUSES = (429, 500, 502, 503, 504)
TRANSIENT_ERRORS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.Timeout,
)


class OpenMeteoError(RuntimeError):
    """Open-Meteo could not be used; the message says why (never containing the API key)."""


class OpenMeteoAPIError(OpenMeteoError):
    """Open-Meteo answered with an error status; `reason` is the API's own explanation."""

    def __init__(self, message: str, status_code: int, reason: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.reason = reason


class OpenMeteoResponseError(OpenMeteoError):
    """The response does not have the documented shape."""


class LocationLike(Protocol):
    """Anything with a key and coordinates (e.g. aqi_assets.reference.Location)."""

    key: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class LocationPayload:
    """The API item of one location for one request, kept as its JSON text.

    Text takes a fraction of the memory of parsed lists of floats: 100 locations x 22 months
    are about 130 MB of text, Spark parses it.
    """

    location_key: str
    start_date: date
    end_date: date
    source: str
    body: str

    @property
    def payload(self) -> dict[str, Any]:
        """The item parsed (for inspection; the pipeline hands `body` to Spark)."""
        return json.loads(self.body)


@dataclass(frozen=True)
class FetchResult:
    """Items fetched (for a range, or one request), and the HTTP calls it took (retries included)."""

    items: tuple[LocationPayload, ...]
    api_calls: int


def date_chunks(start: date, end: date, max_days: int) -> Iterator[tuple[date, date]]:
    """Split the inclusive range start..end into inclusive chunks of at most `max_days` days."""
    cursor = start
    while cursor <= end:
        last = min(end, cursor + timedelta(days=max_days - 1))
        yield cursor, last
        cursor = last + timedelta(days=1)


def _body_excerpt(response: requests.Response, limit: int = 200) -> str:
    return response.text[:limit].replace("\n", " ")


class OpenMeteoResource(dg.ConfigurableResource):
    """Client of `GET {base_url}/v1/air-quality` returning hourly series per location."""

    base_url: str = Field(
        default=DEFAULT_BASE_URL, description="API base URL (AQI_OPEN_METEO_URL)."
    )
    api_key: str | None = Field(
        default=None, description="API key for the commercial host (AQI_OPEN_METEO_API_KEY)."
    )
    hourly_variables: list[str] = Field(
        default_factory=lambda: list(DEFAULT_VARIABLES), description="Hourly variables requested."
    )
    timeout_seconds: float = Field(default=30.0, description="Read timeout per request.")
    max_retries: int = Field(default=5, description="Retries on 429 / 5xx / connection errors.")
    backoff_factor: float = Field(default=0.5, description="Exponential backoff base (seconds).")
    max_locations_per_call: int = Field(default=50, description="Locations batched into one call.")
    max_days_per_call: int = Field(default=92, description="Days requested in one call.")

    _session: requests.Session | None = PrivateAttr(default=None)

    def _http(self) -> requests.Session:
        if self._session is None:
            retry = Retry(
                total=self.max_retries,
                connect=self.max_retries,
                read=self.max_retries,
                status=self.max_retries,
                backoff_factor=self.backoff_factor,
                status_forcelist=RETRY_STATUSES,
                allowed_methods=frozenset({"GET"}),
                respect_retry_after_header=True,
                raise_on_status=False,
            )
            session = requests.Session()
            session.mount("http://", HTTPAdapter(max_retries=retry))
            session.mount("https://", HTTPAdapter(max_retries=retry))
            self._session = session
        return self._session

    def _params(self, locations: Sequence[LocationLike], start: date, end: date) -> dict[str, str]:
        return {
            "latitude": ",".join(f"{loc.latitude:g}" for loc in locations),
            "longitude": ",".join(f"{loc.longitude:g}" for loc in locations),
            "hourly": ",".join(self.hourly_variables),
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "timezone": "GMT",
        }

    def _get(self, params: dict[str, str], source: str) -> tuple[Any, int]:
        """One logical GET (urllib3 retries statuses; this loop retries broken bodies)."""
        query = dict(params, apikey=self.api_key) if self.api_key else params
        url = f"{self.base_url.rstrip('/')}{API_PATH}"
        attempts = 0
        while True:
            attempts += 1
            try:
                response = self._http().get(url, params=query, timeout=(10, self.timeout_seconds))
                text = response.text
                break
            except TRANSIENT_ERRORS as exc:
                if attempts > self.max_retries:
                    raise OpenMeteoError(
                        f"Open-Meteo unreachable after {attempts} attempts ({type(exc).__name__}). "
                        f"Request: {source}"
                    ) from None
                time.sleep(self.backoff_factor * 2 ** (attempts - 1))
        calls = (
            attempts + len(response.raw.retries.history)
            if response.raw and response.raw.retries
            else attempts
        )
        if response.status_code != 200:
            reason = _error_reason(text)
            if response.status_code in RETRY_STATUSES:
                raise OpenMeteoAPIError(
                    f"Open-Meteo still answered HTTP {response.status_code} after {self.max_retries} "
                    f"retries: {reason}. Request: {source}",
                    response.status_code,
                    reason,
                )
            raise OpenMeteoAPIError(
                f"Open-Meteo rejected the request (HTTP {response.status_code}): {reason}. Request: {source}",
                response.status_code,
                reason,
            )
        try:
            return json.loads(text), calls
        except json.JSONDecodeError:
            raise OpenMeteoResponseError(
                f"Open-Meteo response is not valid JSON: {text[:200]!r}. Request: {source}"
            ) from None

    def fetch_requests(
        self, locations: Sequence[LocationLike], start: date, end: date
    ) -> Iterator[FetchResult]:
        """Hourly series of every location for days start..end (inclusive), one request at a time.

        Each answer can be handed on (to Spark) before the next is asked for, so memory holds
        one request's answer, not the range's.
        """
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        logger = dg.get_dagster_logger()
        for first in range(0, len(locations), self.max_locations_per_call):
            batch = list(locations[first : first + self.max_locations_per_call])
            for chunk_start, chunk_end in date_chunks(start, end, self.max_days_per_call):
                params = self._params(batch, chunk_start, chunk_end)
                source = f"{self.base_url.rstrip('/')}{API_PATH}?{urlencode(params)}"
                body, used = self._get(params, source)
                logger.debug(f"Open-Meteo: {len(batch)} locations {chunk_start}..{chunk_end}")
                items = tuple(_match(body, batch, chunk_start, chunk_end, source))
                del body  # the parsed answer is several times the size of its items' text
                yield FetchResult(items=items, api_calls=used)

    def fetch_hourly(
        self, locations: Sequence[LocationLike], start: date, end: date
    ) -> FetchResult:
        """Hourly series of every location for days start..end (inclusive), in few calls."""
        answers = list(self.fetch_requests(locations, start, end))
        return FetchResult(
            items=tuple(item for answer in answers for item in answer.items),
            api_calls=sum(answer.api_calls for answer in answers),
        )


def _error_reason(text: str) -> str:
    try:
        body = json.loads(text)
    except json.JSONDecodeError:
        return text[:200] or "empty body"
    if isinstance(body, dict) and body.get("reason"):
        return str(body["reason"])
    return text[:200]


def _match(
    body: Any, batch: Sequence[LocationLike], start: date, end: date, source: str
) -> list[LocationPayload]:
    """Pair items with locations by order / location_id (never by the grid-snapped coordinates)."""
    items = body if isinstance(body, list) else [body]
    if len(items) != len(batch):
        raise OpenMeteoResponseError(
            f"Open-Meteo returned {len(items)} items for {len(batch)} locations. Request: {source}"
        )
    matched = []
    for index, (item, location) in enumerate(zip(items, batch, strict=True)):
        if not isinstance(item, dict):
            raise OpenMeteoResponseError(f"Item {index} is not a JSON object. Request: {source}")
        if item.get("location_id", 0) != index:
            raise OpenMeteoResponseError(
                f"Item {index} carries location_id {item.get('location_id')}; expected {index}. Request: {source}"
            )
        hourly = item.get("hourly")
        if not isinstance(hourly, dict) or not isinstance(hourly.get("time"), list):
            raise OpenMeteoResponseError(
                f"Item for '{location.key}' has no hourly.time block. Request: {source}"
            )
        if not hourly["time"]:
            raise OpenMeteoResponseError(
                f"Open-Meteo returned no hours for '{location.key}' {start}..{end}. Request: {source}"
            )
        lengths = {k: len(v) for k, v in hourly.items() if isinstance(v, list)}
        uneven = {k: n for k, n in lengths.items() if n != len(hourly["time"])}
        if uneven:
            raise OpenMeteoResponseError(
                f"Hourly arrays of '{location.key}' differ in length from time ({len(hourly['time'])}): "
                f"{uneven}. Request: {source}"
            )
        matched.append(LocationPayload(location.key, start, end, source, json.dumps(item)))
    return matched
