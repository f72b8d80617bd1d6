"""The one way tests build an Open-Meteo client: with the pollutant catalogue's variables."""

from __future__ import annotations

from typing import Any

from aqi_assets.catalog.pollutants import REQUESTED_VARIABLES
from resources.open_meteo.client import OpenMeteoResource


def open_meteo_client(base_url: str, **overrides: Any) -> OpenMeteoResource:
    """A client of `base_url` requesting the catalogue's variables (as the profile does)."""
    overrides.setdefault("hourly_variables", list(REQUESTED_VARIABLES))
    return OpenMeteoResource(base_url=base_url, **overrides)
