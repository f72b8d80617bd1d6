"""Breakpoint tables of the US EPA AQI and of Viet Nam's VN_AQI, with units, steps and sources.

US EPA: Technical Assistance Document for the Reporting of Daily Air Quality - the Air Quality
Index (AQI), EPA-454/B-24-002, May 2024, Table 6 "Breakpoints for the AQI" and its notes (8-hour
O3 does not define AQI values above 300, 1-hour SO2 does not define values of 200 or more), and
the truncation rules AirNow states with it (O3 0.001 ppm, PM2.5 0.1 µg/m³, PM10 1 µg/m³, CO
0.1 ppm, SO2 and NO2 1 ppb). PM2.5 reuses `aqi.BREAKPOINTS` (SPEC §5), both revisions.

VN_AQI: Decision 1459/QĐ-TCMT of 12 Nov 2019, Viet Nam Environment Administration, "Hướng dẫn
kỹ thuật tính toán và công bố chỉ số chất lượng không khí Việt Nam (VN_AQI)", Bảng 1 (bands) and
Bảng 2 (BP_i in µg/m³, continuous interpolation between consecutive levels, §2.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from aqi_assets.catalog.pollutants import (
    CATALOGUE,
    SUB_INDEX_POLLUTANTS,
    Averaging,
    Catalogue,
    entry,
    molar_factors,
)
from aqi_assets.transforms.aqi.epa_pm25 import BREAKPOINTS as PM25_BREAKPOINTS
from aqi_assets.transforms.aqi.epa_pm25 import AqiTable

# µg/m³ per ppb at 25 °C and 1 atm, from the pollutant catalogue (open-meteo
# Sources/App/Cams/CamsReader.swift uses the same factors; SPEC §9 lists them).
UG_PER_PPB: dict[str, Fraction] = molar_factors()


@dataclass(frozen=True)
class EpaTable:
    """One EPA table: bands (C_lo, C_hi, I_lo, I_hi) in `unit`, truncated to `step` of `unit`.

    `per_ug` converts 1 µg/m³ into `unit` (1 for particles); `open_top` says whether the AQI is
    500 above the last band (particles, CO, NO2, 1-h O3) or undefined (8-h O3, 1-h SO2, whose
    higher values other tables define).
    """

    pollutant: str
    averaging: Averaging
    unit: str
    step: Fraction
    per_ug: Fraction
    bands: tuple[tuple[str, str, int, int], ...]
    open_top: bool = True

    def steps_per_ug(self) -> Fraction:
        """Whole truncation steps in 1 µg/m³ (a rational, so truncation can stay exact)."""
        return self.per_ug / self.step

    def band_steps(self) -> tuple[tuple[int, int, int, int], ...]:
        """Bands with the concentrations as whole numbers of steps."""
        return tuple(
            (int(Fraction(lo) / self.step), int(Fraction(hi) / self.step), i_lo, i_hi)
            for lo, hi, i_lo, i_hi in self.bands
        )


def _ppm(pollutant: str) -> Fraction:
    return 1 / (UG_PER_PPB[pollutant] * 1000)


def _ppb(pollutant: str) -> Fraction:
    return 1 / UG_PER_PPB[pollutant]


UG = "µg/m³"
EPA_PM25 = {
    table: EpaTable("pm25", Averaging.HOUR_24, UG, Fraction("0.1"), Fraction(1), bands)
    for table, bands in PM25_BREAKPOINTS.items()
}
EPA_PM10 = EpaTable(
    "pm10",
    Averaging.HOUR_24,
    UG,
    Fraction(1),
    Fraction(1),
    (
        ("0", "54", 0, 50),
        ("55", "154", 51, 100),
        ("155", "254", 101, 150),
        ("255", "354", 151, 200),
        ("355", "424", 201, 300),
        ("425", "604", 301, 500),
    ),
)
EPA_O3_8H = EpaTable(
    "o3",
    Averaging.HOUR_8,
    "ppm",
    Fraction("0.001"),
    _ppm("o3"),
    (
        ("0.000", "0.054", 0, 50),
        ("0.055", "0.070", 51, 100),
        ("0.071", "0.085", 101, 150),
        ("0.086", "0.105", 151, 200),
        ("0.106", "0.200", 201, 300),
    ),
    open_top=False,
)
# 1-hour O3 starts at AQI 101: below 0.125 ppm only the 8-hour value defines the index.
EPA_O3_1H = EpaTable(
    "o3",
    Averaging.HOUR_1,
    "ppm",
    Fraction("0.001"),
    _ppm("o3"),
    (
        ("0.125", "0.164", 101, 150),
        ("0.165", "0.204", 151, 200),
        ("0.205", "0.404", 201, 300),
        ("0.405", "0.604", 301, 500),
    ),
)
EPA_CO_8H = EpaTable(
    "co",
    Averaging.HOUR_8,
    "ppm",
    Fraction("0.1"),
    _ppm("co"),
    (
        ("0.0", "4.4", 0, 50),
        ("4.5", "9.4", 51, 100),
        ("9.5", "12.4", 101, 150),
        ("12.5", "15.4", 151, 200),
        ("15.5", "30.4", 201, 300),
        ("30.5", "50.4", 301, 500),
    ),
)
EPA_SO2_1H = EpaTable(
    "so2",
    Averaging.HOUR_1,
    "ppb",
    Fraction(1),
    _ppb("so2"),
    (("0", "35", 0, 50), ("36", "75", 51, 100), ("76", "185", 101, 150), ("186", "304", 151, 200)),
    open_top=False,
)
# AQI values of 200 or more come from the 24-hour SO2 mean (TAD Table 6, note).
EPA_SO2_24H = EpaTable(
    "so2",
    Averaging.HOUR_24,
    "ppb",
    Fraction(1),
    _ppb("so2"),
    (("305", "604", 201, 300), ("605", "1004", 301, 500)),
)
EPA_NO2_1H = EpaTable(
    "no2",
    Averaging.HOUR_1,
    "ppb",
    Fraction(1),
    _ppb("no2"),
    (
        ("0", "53", 0, 50),
        ("54", "100", 51, 100),
        ("101", "360", 101, 150),
        ("361", "649", 151, 200),
        ("650", "1249", 201, 300),
        ("1250", "2049", 301, 500),
    ),
)
EPA_TABLES: tuple[EpaTable, ...] = (
    EPA_PM25[AqiTable.EPA_2024],
    EPA_PM10,
    EPA_O3_8H,
    EPA_O3_1H,
    EPA_CO_8H,
    EPA_SO2_1H,
    EPA_SO2_24H,
    EPA_NO2_1H,
)


@dataclass(frozen=True)
class VnTable:
    """One VN_AQI column of Bảng 2: concentration levels BP_i (µg/m³) for the index levels I_i.

    Between consecutive levels the sub-index is linear in the concentration (no truncation) and
    is rounded to a whole number (§2.2.1 c, §2.2.2 c). At and above the last level it is 500;
    `open_top=False` marks 8-hour O3, which Bảng 2 leaves blank above 400 µg/m³ (index 300).
    """

    pollutant: str
    averaging: Averaging
    levels: tuple[int, ...]
    open_top: bool = True

    def bands(self) -> tuple[tuple[int, int, int, int], ...]:
        """(BP_i, BP_i+1, I_i, I_i+1) for each pair of consecutive levels."""
        index = VN_INDEX_LEVELS[: len(self.levels)]
        return tuple(
            (self.levels[i], self.levels[i + 1], index[i], index[i + 1])
            for i in range(len(self.levels) - 1)
        )


VN_INDEX_LEVELS = (0, 50, 100, 150, 200, 300, 400, 500)
VN_O3_1H = VnTable("o3", Averaging.HOUR_1, (0, 160, 200, 300, 400, 800, 1000, 1200))
VN_O3_8H = VnTable("o3", Averaging.HOUR_8, (0, 100, 120, 170, 210, 400), open_top=False)
VN_CO = VnTable("co", Averaging.HOUR_1, (0, 10000, 30000, 45000, 60000, 90000, 120000, 150000))
VN_SO2 = VnTable("so2", Averaging.HOUR_1, (0, 125, 350, 550, 800, 1600, 2100, 2630))
VN_NO2 = VnTable("no2", Averaging.HOUR_1, (0, 100, 200, 700, 1200, 2350, 3100, 3850))
VN_PM10 = VnTable("pm10", Averaging.HOUR_24, (0, 50, 150, 250, 350, 420, 500, 600))
VN_PM25 = VnTable("pm25", Averaging.HOUR_24, (0, 25, 50, 80, 150, 250, 350, 500))
# Every table of a pollutant, whatever its averaging: `epa_tables` / `vn_tables` pick from here.
VN_ALL_TABLES: tuple[VnTable, ...] = (VN_O3_1H, VN_O3_8H, VN_CO, VN_SO2, VN_NO2, VN_PM10, VN_PM25)
# The hourly index's table of each pollutant.
VN_TABLES: dict[str, VnTable] = {
    t.pollutant: t for t in (VN_O3_1H, VN_CO, VN_SO2, VN_NO2, VN_PM10, VN_PM25)
}


def epa_tables(
    pollutant: str,
    pm25_table: EpaTable | None = None,
    catalogue: Catalogue = CATALOGUE,
    tables: tuple[EpaTable, ...] = EPA_TABLES,
) -> tuple[EpaTable, ...]:
    """The pollutant's EPA tables in its catalogue entry's order (the reported one first);
    `pm25_table` replaces the default table of its pollutant (the configured revision)."""
    candidates = (*tables, pm25_table) if pm25_table else tables
    chosen = {t.averaging: t for t in candidates if t.pollutant == pollutant}
    return tuple(chosen[a] for a in entry(pollutant, catalogue).epa_averaging)


def vn_tables(
    pollutant: str, catalogue: Catalogue = CATALOGUE, tables: tuple[VnTable, ...] | None = None
) -> tuple[VnTable, ...]:
    """The pollutant's VN_AQI tables in its catalogue entry's order (the hourly one first)."""
    candidates = VN_ALL_TABLES if tables is None else tables
    chosen = {t.averaging: t for t in candidates if t.pollutant == pollutant}
    return tuple(chosen[a] for a in entry(pollutant, catalogue).vn_averaging)


def vn_particles(pollutants: tuple[str, ...] = SUB_INDEX_POLLUTANTS) -> tuple[str, ...]:
    """The pollutants VN_AQI needs one of (Decision 1459 §2.1 b: PM2.5 or PM10): those whose
    hourly index is on their 24-hour table (through the NowCast)."""
    return tuple(p for p in pollutants if vn_tables(p)[0].averaging is Averaging.HOUR_24)


# Decision 1459/QĐ-TCMT, Bảng 1.
VN_CATEGORIES: tuple[tuple[str, int, int], ...] = (
    ("Good", 0, 50),
    ("Moderate", 51, 100),
    ("Poor", 101, 150),
    ("Bad", 151, 200),
    ("Very bad", 201, 300),
    ("Hazardous", 301, 500),
)

# WHO global air quality guidelines (2021), 24-hour means, µg/m³.
WHO_24H_GUIDELINE = {"pm25": Decimal(15), "pm10": Decimal(45)}
