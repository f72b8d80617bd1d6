"""What the registry says about a table: the types `aqi_assets.catalog.registry` is written in."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

import dagster as dg


class Layer(StrEnum):
    """Medallion layers; each is an Iceberg namespace and a Dagster asset group."""

    BRONZE = "bronze"
    SILVER = "silver"
    GOLD = "gold"


class Refresh(StrEnum):
    """How the hourly automation keeps a table current."""

    INGEST = "ingest"  # re-fetched from the API by each hourly refresh run
    DOWNSTREAM = "downstream"  # rebuilt by the refresh run, or after a late upstream update
    REFERENCE = "reference"  # rebuilt from the reference files by each refresh run
    CALENDAR = "calendar"  # built by each refresh run for its days
    FORECAST = "forecast"  # re-fetched whole by the refresh run ending today


class Check(StrEnum):
    """Names of the asset checks (stable: the instance keeps their history by name)."""

    UNIQUE = "unique_key"
    NO_NULL_KEYS = "no_null_keys"
    VALUE_RANGES = "value_ranges"
    AQI_MATCHES = "aqi_matches_pm25"
    LOCATION_FK = "location_key_in_dim_location"
    DATE_FK = "date_key_in_dim_date"
    TIME_FK = "time_key_in_dim_time"
    TOTAL_HOURS = "total_hours_match_silver"
    COMPLETENESS = "completeness"
    REJECT_RATIO = "reject_ratio"
    ROW_COUNT_DROP = "row_count_drop"
    POLLUTANT_FK = "pollutant_key_in_dim_pollutant"
    OPEN_METEO_AGREEMENT = "open_meteo_pm25_agreement"


class CheckDeclarationError(ValueError):
    """An asset and the registry disagree about the checks of a table."""


@dataclass(frozen=True)
class CheckDecl:
    """A declared check: name, meaning, whether a failure blocks the commit and the columns it
    reads where the check needs telling (the unique key, the columns never null).

    The declaration is what runs: `aqi_assets.quality.declared_checks` builds each table's
    checks from its declarations, so an asset cannot run a check its table does not declare.
    """

    name: Check
    description: str
    blocking: bool = True
    columns: tuple[str, ...] = ()


class Table(NamedTuple):
    """An Iceberg table: namespace (the layer) and name; `spark.table(*t)` qualifies it."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}.{self.name}"


@dataclass(frozen=True)
class TableSpec:
    """One table of the lakehouse and everything the code location needs to know about it."""

    asset: str
    layer: Layer
    iceberg_name: str
    keys: tuple[str, ...]  # the unique key; () where rows have none (rejects)
    pool: str
    window_column: str | None = None
    refresh: Refresh = Refresh.DOWNSTREAM
    fresh: bool = False
    maintained: bool = False
    checks: tuple[CheckDecl, ...] = ()

    @property
    def key(self) -> dg.AssetKey:
        """The Dagster asset key."""
        return dg.AssetKey(self.asset)

    @property
    def table(self) -> Table:
        """The Iceberg table, as (namespace, name)."""
        return Table(self.layer.value, self.iceberg_name)

    @property
    def partitioned(self) -> bool:
        """Whether the table follows the daily partitions (filtered on `window_column`)."""
        return self.window_column is not None

    def check_specs(self) -> list[dg.AssetCheckSpec]:
        """The Dagster check specs this table carries."""
        return [
            dg.AssetCheckSpec(
                d.name.value, asset=self.key, blocking=d.blocking, description=d.description
            )
            for d in self.checks
        ]

    def declared(self, check: Check) -> CheckDecl:
        """The declaration of `check` on this table; CheckDeclarationError when it has none."""
        for decl in self.checks:
            if decl.name == check:
                return decl
        raise CheckDeclarationError(
            f"{self.asset} has no check {check.value!r} declared: declare it on {self.asset} in "
            "aqi_assets/catalog/registry.py, or stop evaluating it."
        )
