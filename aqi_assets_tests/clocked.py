"""A local Open-Meteo server with its model clock set, and the resources that read from it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from aqi_assets.catalog.registry import TableSpec
from aqi_assets.config.pipeline_config import PipelineConfig
from aqi_assets.dev.local_open_meteo import LocalOpenMeteo
from aqi_assets_tests.open_meteo_client import open_meteo_client

BEFORE_RUN = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)  # the 12Z run of the 9th is the latest
AFTER_RUN = datetime(2026, 3, 10, 10, 30, tzinfo=UTC)  # the 00Z run of the 10th is out
YESTERDAY, TODAY = date(2026, 3, 9), date(2026, 3, 10)
# Near 10.0 N 105.6 E the local server's PM2.5 stays above AQI 151 through 2026-03-10 morning.
LOCATIONS = [
    {
        "location_key": "spell",
        "location_name": "Spell",
        "latitude": 10.0,
        "longitude": 105.6,
        "time_zone": "Asia/Ho_Chi_Minh",
    },
    {
        "location_key": "hanoi",
        "location_name": "Ha Noi",
        "latitude": 21.0285,
        "longitude": 105.8542,
        "time_zone": "Asia/Ho_Chi_Minh",
    },
]


@pytest.fixture
def clocked(pipeline_resources, tmp_path: Path):
    """(server, resources): the server's clock at BEFORE_RUN, two locations (one in a spell)."""
    path = tmp_path / "locations.json"
    path.write_text(json.dumps(LOCATIONS))
    with LocalOpenMeteo(now=BEFORE_RUN) as server:
        resources = {
            **pipeline_resources,
            "open_meteo": open_meteo_client(base_url=server.base_url, backoff_factor=0.01),
            "pipeline": PipelineConfig(locations_path=str(path)),
        }
        yield server, resources


def table(spark, resources: dict, spec: TableSpec):
    """The Spark frame of `spec`'s table in the resources' catalog."""
    return spark.table(f"{resources['spark'].catalog_name}.{spec.table}")
