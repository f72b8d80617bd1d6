"""US EPA AQI from PM2.5: breakpoint tables, a Spark column expression and a Python reference."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction

from pyspark.sql import Column
from pyspark.sql import functions as F

from aqi_assets.transforms.aqi.exact import step_boundary, step_count

# (C low, C high, I low, I high) per band, µg/m³ truncated to 0.1.
Band = tuple[str, str, int, int]


class AqiTable(StrEnum):
    """Selectable breakpoint tables (SPEC §5)."""

    EPA_2024 = "epa_2024"
    EPA_PRE_2024 = "epa_pre_2024"


BREAKPOINTS: dict[AqiTable, tuple[Band, ...]] = {
    AqiTable.EPA_2024: (
        ("0.0", "9.0", 0, 50),
        ("9.1", "35.4", 51, 100),
        ("35.5", "55.4", 101, 150),
        ("55.5", "125.4", 151, 200),
        ("125.5", "225.4", 201, 300),
        ("225.5", "325.4", 301, 500),
    ),
    AqiTable.EPA_PRE_2024: (
        ("0.0", "12.0", 0, 50),
        ("12.1", "35.4", 51, 100),
        ("35.5", "55.4", 101, 150),
        ("55.5", "150.4", 151, 200),
        ("150.5", "250.4", 201, 300),
        ("250.5", "350.4", 301, 400),
        ("350.5", "500.4", 401, 500),
    ),
}
MAX_AQI = 500
TENTHS = Fraction(10)
AQI_CATEGORIES: tuple[tuple[str, int, int], ...] = (
    ("Good", 0, 50),
    ("Moderate", 51, 100),
    ("Unhealthy for Sensitive Groups", 101, 150),
    ("Unhealthy", 151, 200),
    ("Very Unhealthy", 201, 300),
    ("Hazardous", 301, MAX_AQI),
)


def pm25_tenths(pm25: Column) -> Column:
    """PM2.5 truncated to one decimal, as a whole number of tenths.

    Exact for the decimal the reading prints as, with no rounding first: 9.09995 is 90 tenths.
    """
    return step_count(pm25, TENTHS)


def aqi_column(pm25: Column, table: AqiTable = AqiTable.EPA_2024) -> Column:
    """Integer AQI of a PM2.5 concentration; null for null, NaN or negative input; 500 above the table.

    Exact integer arithmetic in tenths of µg/m³: (I_hi - I_lo) / (C_hi - C_lo) * (C - C_lo) + I_lo
    rounded half up is floor((2 * dI * dC_x + dC) / (2 * dC)) + I_lo; no wide decimals per row.
    """
    tenths = pm25_tenths(pm25)
    expression = F.when(pm25.isNull() | F.isnan(pm25) | (pm25 < 0), F.lit(None))
    for c_lo, c_hi, i_lo, i_hi in BREAKPOINTS[table]:
        lo, hi = int(Decimal(c_lo) * 10), int(Decimal(c_hi) * 10)
        span_c, span_i = hi - lo, i_hi - i_lo
        value = F.floor((2 * span_i * (tenths - lo) + span_c) / (2 * span_c)) + i_lo
        # tenths <= hi, decided on the reading so the tenths are built only in the branch taken.
        expression = expression.when(pm25 < step_boundary(hi + 1, TENTHS), value)
    return expression.otherwise(F.lit(MAX_AQI)).cast("int")


def aqi_category_column(aqi: Column) -> Column:
    """AQI category name; null for null AQI."""
    expression = F.when(aqi.isNull(), F.lit(None))
    for name, _, high in AQI_CATEGORIES:
        expression = expression.when(aqi <= high, F.lit(name))
    return expression.otherwise(F.lit(AQI_CATEGORIES[-1][0]))


def aqi_from_pm25(value: float | None, table: AqiTable = AqiTable.EPA_2024) -> int | None:
    """Pure-Python reference of `aqi_column` (independent implementation for checks and tests)."""
    if value is None or value != value or value < 0:
        return None
    c = Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_DOWN)
    for c_lo, c_hi, i_lo, i_hi in BREAKPOINTS[table]:
        lo, hi = Decimal(c_lo), Decimal(c_hi)
        if c <= hi:
            exact = (Decimal(i_hi - i_lo) / (hi - lo)) * (c - lo) + i_lo
            return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return MAX_AQI
