"""Business rules and reference data of the pipeline as one Dagster resource (visible in the UI)."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from aqi_assets.config.reference import Location, Pollutant, load_locations, load_pollutants


class PipelineConfig(dg.ConfigurableResource):
    """Where the reference data lives and which AQI / episode rules apply."""

    locations_path: str | None = Field(
        default=None,
        description="Locations JSON (AQI_LOCATIONS_PATH); default: the shipped 3 cities.",
    )
    pollutants_path: str | None = Field(
        default=None,
        description="Pollutants JSON (AQI_POLLUTANTS_PATH); default: the shipped list.",
    )
    aqi_breakpoints: str = Field(
        default="epa_2024", description="AQI breakpoint table: epa_2024 or epa_pre_2024."
    )
    episode_threshold: int = Field(
        default=151, description="AQI at or above which an hour is 'high'."
    )
    episode_min_hours: int = Field(
        default=4, description="Shortest run of high hours that is an episode."
    )
    max_reject_ratio: float = Field(
        default=0.05, description="Warn when more than this share of input rows is rejected."
    )

    def locations(self) -> list[Location]:
        """The validated locations to ingest."""
        return load_locations(self.locations_path)

    def pollutants(self) -> list[Pollutant]:
        """The validated pollutant reference list."""
        return load_pollutants(self.pollutants_path)
