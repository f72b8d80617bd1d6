"""The fast tier's Spark: the session's JVM with the SQL tuning the project gives short runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from aqi_assets_tests.open_meteo_client import open_meteo_client
from resources.open_meteo.client import OpenMeteoResource
from resources.spark.spark_conf import SHORT_RUN_CONF


@pytest.fixture(autouse=True)
def short_run_sql(request: pytest.FixtureRequest) -> Iterator[None]:
    """SHORT_RUN_CONF (interpreted expressions, no adaptive re-planning) during each unit test
    that uses Spark: they transform a few rows, the short runs' case, where code generation and
    re-planning cost more than they save. The previous values come back after each test, for the
    integration tests sharing the JVM."""
    if "spark" not in request.fixturenames:
        yield
        return
    spark = request.getfixturevalue("spark")
    previous = {key: spark.conf.get(key, None) for key in SHORT_RUN_CONF}
    for key, value in SHORT_RUN_CONF.items():
        spark.conf.set(key, value)
    yield
    for key, value in previous.items():
        if value is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, value)


@pytest.fixture
def client(open_meteo_server) -> OpenMeteoResource:
    """A client of the local server with no budget, quick retries and no faults left over."""
    open_meteo_server.clear_faults()
    open_meteo_server.reset_counters()
    return open_meteo_client(
        open_meteo_server.base_url, backoff_factor=0.01, max_retries=3, rate_limits="off"
    )
