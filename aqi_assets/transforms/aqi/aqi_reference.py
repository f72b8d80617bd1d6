"""Plain-Python reference of every index here, in exact rational arithmetic.

Independent of the Spark expressions (no shared code beyond the breakpoint tables): the
blocking check `aqi_matches_pm25` and the property tests compare Spark's results with these.
A double is taken as the decimal it prints as (`repr`), as the Spark side does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction

from aqi_assets.catalog.pollutants import Averaging, EpaRule, entry
from aqi_assets.transforms.aqi.breakpoints import (
    EPA_O3_1H,
    EPA_O3_8H,
    EPA_SO2_1H,
    EPA_SO2_24H,
    EpaTable,
    VnTable,
    epa_tables,
)

MAX_INDEX = 500
NOWCAST_HOURS = 12


def exact(value: float | None) -> Fraction | None:
    """The decimal a reading prints as, exactly; None for missing, NaN or infinite."""
    if value is None or not math.isfinite(value):
        return None
    return Fraction(Decimal(repr(float(value))))


def _round_half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


def epa_sub_index(concentration_ug: Fraction | None, table: EpaTable) -> int | None:
    """EPA sub-index of an exact concentration in µg/m³ (truncated to the table's step)."""
    if concentration_ug is None or concentration_ug < 0:
        return None
    truncated = math.floor(concentration_ug * table.per_ug / table.step) * table.step
    bands = [(Fraction(lo), Fraction(hi), i_lo, i_hi) for lo, hi, i_lo, i_hi in table.bands]
    if truncated < bands[0][0]:
        return None
    for lo, hi, i_lo, i_hi in bands:
        if truncated <= hi:
            return _round_half_up(Fraction(i_hi - i_lo) / (hi - lo) * (truncated - lo) + i_lo)
    return MAX_INDEX if table.open_top else None


def epa_o3_sub_index(o3_1h_ug: Fraction | None, o3_8h_ug: Fraction | None) -> int | None:
    """The larger of the defined 8-hour and 1-hour O3 sub-indices."""
    found = [i for i in (epa_sub_index(o3_8h_ug, EPA_O3_8H), epa_sub_index(o3_1h_ug, EPA_O3_1H))]
    present = [i for i in found if i is not None]
    return max(present) if present else None


def epa_hourly_then_24h_sub_index(
    value_1h_ug: Fraction | None, mean_24h_ug: Fraction | None, hourly: EpaTable, daily: EpaTable
) -> int | None:
    """The 1-hour table's index up to its top, else the 24-hour mean's, at least that top."""
    if value_1h_ug is None or value_1h_ug < 0:
        return None
    by_hour = epa_sub_index(value_1h_ug, hourly)
    if by_hour is not None:
        return by_hour
    by_day = epa_sub_index(mean_24h_ug, daily)
    return by_day if by_day is not None else hourly.bands[-1][3]


def epa_so2_sub_index(so2_1h_ug: Fraction | None, so2_24h_ug: Fraction | None) -> int | None:
    """1-hour SO2 up to 200, else the 24-hour mean's index, at least 200."""
    return epa_hourly_then_24h_sub_index(so2_1h_ug, so2_24h_ug, EPA_SO2_1H, EPA_SO2_24H)


def epa_index(
    pollutant: str,
    averages: Mapping[Averaging, Fraction | None],
    pm25_table: EpaTable | None = None,
) -> int | None:
    """Any catalogue pollutant's EPA sub-index from its averages (µg/m³, by period), its tables
    combined by its entry's rule (O3: the larger of 8-hour and 1-hour)."""
    tables = epa_tables(pollutant, pm25_table)
    if entry(pollutant).epa_rule is EpaRule.HOURLY_THEN_24H:
        hourly, daily = tables
        return epa_hourly_then_24h_sub_index(
            averages.get(hourly.averaging), averages.get(daily.averaging), hourly, daily
        )
    found = [epa_sub_index(averages.get(t.averaging), t) for t in tables]
    present = [i for i in found if i is not None]
    return max(present) if present else None


def vn_sub_index(concentration_ug: Fraction | None, table: VnTable) -> int | None:
    """VN_AQI sub-index: linear between Bảng 2 levels, rounded half up; 500 from the top."""
    if concentration_ug is None or concentration_ug < 0:
        return None
    for lo, hi, i_lo, i_hi in table.bands():
        if concentration_ug <= hi:
            return _round_half_up(Fraction(i_hi - i_lo, hi - lo) * (concentration_ug - lo) + i_lo)
    return MAX_INDEX if table.open_top else None


def nowcast(latest_first: Sequence[Fraction | None], step: Fraction | None) -> Fraction | None:
    """PM NowCast of c1 (this hour) ... c12; None unless 2 of c1-c3 exist; truncated to `step`.

    w = min/max over the present hours, at least 1/2; NowCast = sum w^(i-1) c_i / sum w^(i-1)
    over the present hours (EPA; Decision 1459 §2.2.1 a with w^(i-1) = 0 for a missing c_i).
    `step=None` keeps the exact value (VN_AQI does not truncate).
    """
    hours = list(latest_first[:NOWCAST_HOURS])
    if sum(c is not None for c in hours[:3]) < 2:
        return None
    present = [(i, c) for i, c in enumerate(hours) if c is not None]
    values = [c for _, c in present]
    high = max(values)
    weight = max(min(values) / high, Fraction(1, 2)) if high > 0 else Fraction(1)
    value = sum(weight**i * c for i, c in present) / sum(weight**i for i, _ in present)
    return value if step is None else math.floor(value / step) * step


def trailing_mean(values: Sequence[Fraction | None], min_count: int) -> Fraction | None:
    """Mean of the present values when at least `min_count` are present."""
    present = [v for v in values if v is not None]
    return sum(present, Fraction(0)) / len(present) if len(present) >= min_count else None


# Open-Meteo's US AQI class thresholds for PM2.5 since its 2024 update (Helper/AirQuality.swift).
OPEN_METEO_PM25 = (0.0, 9.0, 35.5, 55.5, 125.5, 225.5, 325.5, 500.0)


def open_meteo_us_aqi_pm25(previous_24: Sequence[float | None]) -> float | None:
    """Open-Meteo's `us_aqi_pm2_5` at t from the 24 hourly values before t (oldest first).

    Their mean (missing if any is missing), placed continuously between class thresholds
    (extrapolated above the last), classes 0-4 scaled by 50 and above by 100 - 200.
    """
    if len(previous_24) != 24 or None in previous_24:
        return None
    mean = sum(previous_24) / 24  # type: ignore[arg-type]
    thresholds = OPEN_METEO_PM25
    if math.isnan(mean) or mean < 0:  # a NaN among them makes the mean NaN
        return None
    position = None
    for i in range(1, len(thresholds)):
        if mean < thresholds[i]:
            lo, hi = thresholds[i - 1], thresholds[i]
            position = i - 1 + (mean - lo) / (hi - lo)
            break
    if position is None:
        lo, hi = thresholds[-2], thresholds[-1]
        position = len(thresholds) - 1 + (mean - hi) / (hi - lo)
    return position * 50 if position <= 4 else position * 100 - 200
