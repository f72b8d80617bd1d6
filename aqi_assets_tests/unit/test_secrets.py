"""No credential in any log record, source or error: the API key rides in the query string and a
base URL may carry user:token@, yet urllib3 logs URLs at DEBUG, on every attempt."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Iterator
from datetime import date

import pytest

from aqi_assets.config.profiles import resources_for
from aqi_assets.config.reference import load_locations
from aqi_assets.config.settings import SettingsError, load_settings
from aqi_assets.dev.local_open_meteo import LocalOpenMeteo
from aqi_assets_tests.open_meteo_client import open_meteo_client
from resources.open_meteo.client import OpenMeteoAPIError, OpenMeteoError, OpenMeteoResource

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
    return open_meteo_client(
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
    wrong = open_meteo_client(
        base_url=keyed_server.base_url, api_key="wrong-" + KEY, rate_limits="off"
    )
    with pytest.raises(OpenMeteoAPIError, match="API key is missing or invalid") as error:
        wrong.fetch_hourly(load_locations()[:1], date(2024, 1, 1), date(2024, 1, 1))
    _assert_clean(str(error.value))


def _chain(error: BaseException) -> list[BaseException]:
    """The error and every exception it carries as cause or context."""
    found = []
    while error is not None and error not in found:
        found.append(error)
        error = error.__cause__ or error.__context__
    return found


def test_an_error_page_echoing_the_key_is_reported_without_it(keyed_server) -> None:
    keyed_server.set_faults({"kind": "echo_query", "status": 403})
    with pytest.raises(OpenMeteoAPIError, match="HTTP 403") as error:
        _client(keyed_server).fetch_hourly(load_locations(), date(2024, 1, 1), date(2024, 1, 1))
    assert "Denied by proxy" in error.value.reason
    _assert_clean(error.value.reason, *(str(e) for e in _chain(error.value)))


def test_a_connection_error_carries_no_url_in_its_cause_or_context() -> None:
    client = open_meteo_client(
        base_url=f"http://reader:{TOKEN}@127.0.0.1:9",
        api_key=KEY,
        hourly_variables=["pm2_5"],
        backoff_factor=0.01,
        max_retries=1,
        rate_limits="off",
    )
    with pytest.raises(OpenMeteoError, match="unreachable after 2 attempts") as error:
        client.fetch_hourly(load_locations(), date(2024, 1, 1), date(2024, 1, 1))
    texts = [f"{e!r} {e}" for e in _chain(error.value)]
    texts += traceback.format_exception(error.value)
    _assert_clean(*texts)
    assert all("apikey" not in t or "apikey=***" in t for t in texts)


def test_credentials_in_settings_are_refused_or_never_shown(tmp_path, monkeypatch) -> None:
    env = {"DAGSTER_HOME": str(tmp_path)}
    url = f"https://reader:{TOKEN}@customer-air-quality-api.open-meteo.com"
    with pytest.raises(SettingsError, match="AQI_OPEN_METEO_API_KEY") as error:
        load_settings({**env, "AQI_OPEN_METEO_URL": url})
    _assert_clean(str(error.value))
    secret_env = {
        "AQI_OPEN_METEO_API_KEY": KEY,
        "AQI_SPARK_CONF": json.dumps({"spark.hadoop.fs.s3a.secret.key": TOKEN}),
        "AQI_CATALOG_TYPE": "jdbc",
        "AQI_CATALOG_URI": f"jdbc:postgresql://db/iceberg?user=u&password={TOKEN}",
    }
    for name, value in secret_env.items():
        monkeypatch.setenv(name, value)
    resources = resources_for(load_settings({**env, **secret_env}))
    # What the UI shows of each resource: its configured fields (env vars by name only).
    shown = json.dumps(
        {name: r.model_dump(mode="json") for name, r in resources.items()}, default=str
    )
    assert "AQI_CATALOG_URI" in shown
    _assert_clean(shown)
    conf = resources["spark"].process_config_and_initialize().effective_conf()
    assert conf["spark.hadoop.fs.s3a.secret.key"] == TOKEN, "the run still gets the secret"
    assert conf["spark.sql.catalog.lh.uri"].endswith(TOKEN)
