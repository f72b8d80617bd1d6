"""Names of the Iceberg tables, by layer."""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class Layer(StrEnum):
    """Medallion layers; each is an Iceberg namespace and a Dagster asset group."""

    BRONZE = "bronze"
    SILVER = "silver"
    GOLD = "gold"


class Table(NamedTuple):
    """An Iceberg table of the lakehouse: its namespace (layer) and name (`spark.table(*t)`)."""

    layer: Layer
    name: str

    def __str__(self) -> str:
        return f"{self.layer}.{self.name}"


BRONZE_RAW = Table(Layer.BRONZE, "bronze_raw")
SILVER_HOURLY = Table(Layer.SILVER, "silver_hourly")
SILVER_REJECTS = Table(Layer.SILVER, "silver_rejects")
DIM_LOCATION = Table(Layer.GOLD, "dim_location")
DIM_POLLUTANT = Table(Layer.GOLD, "dim_pollutant")
DIM_TIME = Table(Layer.GOLD, "dim_time")
DIM_DATE = Table(Layer.GOLD, "dim_date")
FACT_HOURLY = Table(Layer.GOLD, "fact_air_quality_hourly")
FACT_CITY_DAILY = Table(Layer.GOLD, "fact_city_daily")
FACT_EPISODE = Table(Layer.GOLD, "fact_episode")
