"""No credential in any log record, source or error: the API key rides in the query string and a
base URL may carry user:token@, yet urllib3 logs URLs at DEBUG, on every attempt."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date

import pytest

from aqi_assets.config.reference import load_locations
from aqi_assets.dev.local_open_meteo import LocalOpenMeteo
from resources.open_meteo.client import OpenMeteoAPIError, OpenMeteoResource

KEY = "k3y-0f-the-commercial-plan"
TOKEN = "t0ken-in-the-url"


class Everything(logging.Handler):
    """Keeps every record's final text, as a root DEBUG handler of a deployment would see it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def root_debug() -> Iterator[Everything]:
    handler = Everything()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
def keyed_server() -> Iterator[LocalOpenMeteo]:
    with LocalOpenMeteo(api_key=KEY) as server:
        yield server


def _client(server: LocalOpenMeteo, **overrides) -> OpenMeteoResource:
    base = server.base_url.replace("http://", f"http://reader:{TOKEN}@")
    return OpenMeteoResource(
        base_url=base, api_key=KEY, backoff_factor=0.01, rate_limits="off", **overrides
    )


def _assert_clean(*texts: str) -> None:
    for text in texts:
        assert KEY not in text
        assert TOKEN not in text


def test_no_secret_in_logs_sources_or_errors_during_retries(root_debug, keyed_server) -> None:
    keyed_server.set_faults({"kind": "status", "status": 503}, {"kind": "reset"})
    result = _client(keyed_server).fetch_hourly(
        load_locations(), date(2024, 1, 1), date(2024, 1, 1)
    )
    assert result.api_calls == 3
    assert keyed_server.requests_log[-1]["apikey"] == KEY, "the key is still sent"
    url_lines = [line for line in root_debug.lines if "/v1/air-quality" in line]
    assert url_lines, "urllib3 logged each request's URL at DEBUG"
    assert all("apikey=***" in line for line in url_lines if "GET" in line)
    _assert_clean(*root_debug.lines, *(item.source for item in result.items))
    assert result.items[0].source.startswith(
        f"http://127.0.0.1:{keyed_server.base_url.split(':')[-1]}/"
    )

    keyed_server.set_faults({"kind": "status", "status": 500}, permanent=True)
    with pytest.raises(OpenMeteoAPIError) as error:
        _client(keyed_server, max_retries=2).fetch_hourly(
            load_locations(), date(2024, 1, 1), date(2024, 1, 1)
        )
    assert "after 3 attempts" in str(error.value)
    _assert_clean(str(error.value), *root_debug.lines)


def test_a_wrong_key_is_reported_without_the_key(keyed_server) -> None:
    wrong = OpenMeteoResource(
        base_url=keyed_server.base_url, api_key="wrong-" + KEY, rate_limits="off"
    )
    with pytest.raises(OpenMeteoAPIError, match="API key is missing or invalid") as error:
        wrong.fetch_hourly(load_locations()[:1], date(2024, 1, 1), date(2024, 1, 1))
    _assert_clean(str(error.value))
