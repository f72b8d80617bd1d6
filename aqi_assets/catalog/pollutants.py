"""The pollutant catalogue: every variable we request, validate, store and index, described once.

Each `PollutantEntry` says what one variable is: its Open-Meteo name, its column in our tables
(and `dim_pollutant` key), unit, physical range, molar conversion, the averaging periods of its
EPA and VN_AQI breakpoint tables (the tables themselves are in
`aqi_assets.transforms.aqi.breakpoints`, tagged with the same key) and whether it is requested.
Everything else (request variables, the silver rename map and ranges, the sub-index pollutants,
the dimension rows) is derived here from `CATALOGUE`; the functions take a catalogue so a test
can show what one more entry changes. Adding a pollutant: one entry, plus its breakpoint tables
when it has an index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

UG = "μg/m³"  # as Open-Meteo writes it (Greek mu), also our dim_pollutant's unit


class Averaging(StrEnum):
    """Averaging period a breakpoint table applies to."""

    HOUR_1 = "1h"
    HOUR_8 = "8h"
    HOUR_24 = "24h"

    @property
    def hours(self) -> int:
        """Hours the average spans."""
        return int(self.value.removesuffix("h"))


class Role(StrEnum):
    """What a catalogue entry is to the pipeline."""

    # A concentration or measure: silver validates it against its range and keeps it.
    MEASURED = "measured"
    # Open-Meteo's own index: kept in silver as it came, to cross-check ours.
    OPEN_METEO_INDEX = "open_meteo_index"
    # Computed by this pipeline, never requested: only a dimension row.
    COMPUTED = "computed"


class EpaRule(StrEnum):
    """How a pollutant's EPA tables combine into one sub-index (TAD Table 6 and its notes)."""

    # The larger defined index of its tables (one table: that one; O3: 8-hour and 1-hour).
    LARGEST = "largest"
    # The 1-hour table up to its top, then the 24-hour mean's, at least the top (SO2).
    HOURLY_THEN_24H = "hourly_then_24h"


@dataclass(frozen=True)
class PollutantEntry:
    """One variable of the catalogue; `key` is its column in our tables and its dimension key."""

    key: str
    name: str
    unit: str
    description: str
    role: Role = Role.MEASURED
    variable: str | None = None  # Open-Meteo's hourly variable; None for a computed one
    valid_range: tuple[float, float] | None = None  # physically plausible [min, max]
    ug_per_ppb: Fraction | None = None  # µg/m³ per ppb at 25 °C, for tables in ppm / ppb
    # Averages of its EPA tables, the one reported first (fact_pollutant_hourly's period).
    epa_averaging: tuple[Averaging, ...] = ()
    epa_rule: EpaRule = EpaRule.LARGEST
    # Averages of its VN_AQI tables (Decision 1459 Bảng 2), the hourly index's first.
    vn_averaging: tuple[Averaging, ...] = ()
    requested: bool = True  # requested from Open-Meteo by default
    in_dimension: bool = True  # a row of dim_pollutant

    @property
    def averaging_periods(self) -> tuple[Averaging, ...]:
        """Every average its tables are defined on, shortest first."""
        return tuple(sorted({*self.epa_averaging, *self.vn_averaging}, key=lambda a: a.hours))


H1, H8, H24 = Averaging.HOUR_1, Averaging.HOUR_8, Averaging.HOUR_24
MEASURED, OM_INDEX = Role.MEASURED, Role.OPEN_METEO_INDEX

# Order matters: it is the request's, silver's column order and the dominant pollutant's tie
# order (the first listed wins). Molar factors: molar mass / 24.45 L/mol (SPEC §9), the ones
# Open-Meteo's own US AQI uses; CO's 1.145 is 28.01 / 24.45 (Open-Meteo rounds it to 1.15).
CATALOGUE: tuple[PollutantEntry, ...] = (
    PollutantEntry(
        "pm25", "PM2.5", UG, "Fine particulate matter, diameter under 2.5 µm",
        variable="pm2_5", valid_range=(0.0, 1500.0), epa_averaging=(H24,), vn_averaging=(H24,),
    ),
    PollutantEntry(
        "pm10", "PM10", UG, "Coarse particulate matter, diameter under 10 µm",
        variable="pm10", valid_range=(0.0, 3000.0), epa_averaging=(H24,), vn_averaging=(H24,),
    ),
    PollutantEntry(
        "o3", "Ozone", UG, "Ground-level ozone (O3)",
        variable="ozone", valid_range=(0.0, 1200.0), ug_per_ppb=Fraction("1.96"),
        epa_averaging=(H8, H1), vn_averaging=(H1, H8),
    ),
    PollutantEntry(
        "no2", "Nitrogen dioxide", UG, "Nitrogen dioxide (NO2), mostly from traffic and combustion",
        variable="nitrogen_dioxide", valid_range=(0.0, 1500.0), ug_per_ppb=Fraction("1.88"),
        epa_averaging=(H1,), vn_averaging=(H1,),
    ),
    PollutantEntry(
        "so2", "Sulphur dioxide", UG, "Sulphur dioxide (SO2), mostly from burning coal and oil",
        variable="sulphur_dioxide", valid_range=(0.0, 2500.0), ug_per_ppb=Fraction("2.62"),
        epa_averaging=(H1, H24), epa_rule=EpaRule.HOURLY_THEN_24H, vn_averaging=(H1,),
    ),
    PollutantEntry(
        "co", "Carbon monoxide", UG, "Carbon monoxide (CO) from incomplete combustion",
        variable="carbon_monoxide", valid_range=(0.0, 100000.0), ug_per_ppb=Fraction("1.145"),
        epa_averaging=(H8,), vn_averaging=(H1,),
    ),
    PollutantEntry(
        "aod", "Aerosol optical depth", "", "Aerosol optical depth at 550 nm (dimensionless)",
        variable="aerosol_optical_depth", valid_range=(0.0, 10.0),
    ),
    PollutantEntry(
        "dust", "Dust", UG, "Saharan and other mineral dust particles",
        variable="dust", valid_range=(0.0, 10000.0),
    ),
    PollutantEntry(
        "uv_index", "UV index", "", "Ultraviolet index (dimensionless)",
        variable="uv_index", valid_range=(0.0, 20.0),
    ),
    PollutantEntry(
        "us_aqi", "Open-Meteo US AQI", "USAQI", "Open-Meteo's US AQI over all pollutants",
        role=OM_INDEX, variable="us_aqi", in_dimension=False,
    ),
    PollutantEntry(
        "us_aqi_pm2_5", "Open-Meteo US AQI (PM2.5)", "USAQI", "Open-Meteo's US AQI of PM2.5",
        role=OM_INDEX, variable="us_aqi_pm2_5", in_dimension=False,
    ),
    PollutantEntry(
        "aqi", "US AQI (PM2.5)", "",
        "US EPA Air Quality Index computed from PM2.5 by this pipeline",
        role=Role.COMPUTED, requested=False,
    ),
)  # fmt: skip

Catalogue = Sequence[PollutantEntry]


def entry(key: str, catalogue: Catalogue = CATALOGUE) -> PollutantEntry:
    """The entry of `key`; KeyError names the known keys."""
    for e in catalogue:
        if e.key == key:
            return e
    raise KeyError(f"no pollutant {key!r} in the catalogue; known: {[e.key for e in catalogue]}")


def requested_variables(catalogue: Catalogue = CATALOGUE) -> tuple[str, ...]:
    """Open-Meteo hourly variables requested by default, in catalogue order."""
    return tuple(e.variable for e in catalogue if e.variable and e.requested)


def variable_names(catalogue: Catalogue = CATALOGUE) -> tuple[str, ...]:
    """Every Open-Meteo variable the catalogue knows (requested or not)."""
    return tuple(e.variable for e in catalogue if e.variable)


def measured_columns(catalogue: Catalogue = CATALOGUE) -> dict[str, str]:
    """Open-Meteo variable -> our column, for the measured variables (silver's rename map)."""
    return {e.variable: e.key for e in catalogue if e.role is MEASURED and e.variable}


def cross_check_columns(catalogue: Catalogue = CATALOGUE) -> tuple[str, ...]:
    """Open-Meteo's own indices, kept in silver under their own names."""
    return tuple(e.key for e in catalogue if e.role is OM_INDEX)


def value_ranges(catalogue: Catalogue = CATALOGUE) -> dict[str, tuple[float, float]]:
    """Physically plausible [min, max] per measured column (silver's validation and checks)."""
    return {e.key: e.valid_range for e in catalogue if e.role is MEASURED and e.valid_range}


def sub_index_pollutants(catalogue: Catalogue = CATALOGUE) -> tuple[str, ...]:
    """Pollutants with an EPA and a VN_AQI sub-index, in tie order."""
    return tuple(e.key for e in catalogue if e.epa_averaging and e.vn_averaging)


def molar_factors(catalogue: Catalogue = CATALOGUE) -> dict[str, Fraction]:
    """µg/m³ per ppb of the pollutants whose tables are in ppm or ppb."""
    return {e.key: e.ug_per_ppb for e in catalogue if e.ug_per_ppb is not None}


def dimension_entries(catalogue: Catalogue = CATALOGUE) -> tuple[PollutantEntry, ...]:
    """The entries that are rows of dim_pollutant, in order."""
    return tuple(e for e in catalogue if e.in_dimension)


REQUESTED_VARIABLES = requested_variables()
SUB_INDEX_POLLUTANTS = sub_index_pollutants()

__all__ = [
    "CATALOGUE",
    "REQUESTED_VARIABLES",
    "SUB_INDEX_POLLUTANTS",
    "UG",
    "Averaging",
    "Catalogue",
    "EpaRule",
    "PollutantEntry",
    "Role",
    "cross_check_columns",
    "dimension_entries",
    "entry",
    "measured_columns",
    "molar_factors",
    "requested_variables",
    "sub_index_pollutants",
    "value_ranges",
    "variable_names",
]
