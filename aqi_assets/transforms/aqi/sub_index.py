"""Sub-indices as Spark columns: EPA (truncated, integer arithmetic) and VN_AQI (continuous).

Inputs are concentrations in µg/m³ as Open-Meteo gives them; `computed=True` marks averages
(means, NowCast) whose floating error must not cross a boundary (`exact.COMPUTED_NUDGE`).
Pass column references: each expression repeats its input once per band.
Tables and their sources: `aqi_assets.transforms.aqi.breakpoints`.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

from aqi_assets.transforms.aqi.breakpoints import (
    EPA_O3_1H,
    EPA_O3_8H,
    EPA_SO2_1H,
    EPA_SO2_24H,
    VN_CATEGORIES,
    VN_O3_1H,
    VN_O3_8H,
    EpaTable,
    VnTable,
)
from aqi_assets.transforms.aqi.exact import (
    nudged,
    round_half_up_interpolation,
    step_boundary,
    step_count,
)

MAX_INDEX = 500


def _invalid(value: Column) -> Column:
    return value.isNull() | F.isnan(value) | (value < 0)


def epa_steps(value_ug: Column, table: EpaTable, computed: bool = False) -> Column:
    """The concentration in whole truncation steps of the table's unit (e.g. tenths of µg/m³)."""
    value = nudged(value_ug) if computed else value_ug
    return F.when(~_invalid(value_ug), step_count(value, table.steps_per_ug()))


def epa_truncated(value_ug: Column, table: EpaTable, computed: bool = False) -> Column:
    """The truncated concentration in the table's unit (ppm, ppb or µg/m³), as a double."""
    step = table.step
    return epa_steps(value_ug, table, computed) * F.lit(step.numerator) / F.lit(step.denominator)


def epa_sub_index(value_ug: Column, table: EpaTable, computed: bool = False) -> Column:
    """EPA sub-index: I = round((I_hi - I_lo) / (C_hi - C_lo) * (C - C_lo) + I_lo), C truncated.

    Exact: with C, C_lo and C_hi in whole steps the rounded quotient is integer arithmetic.
    Null for null, NaN or negative input and outside what the table defines; 500 above an
    open-topped table.
    """
    value = nudged(value_ug) if computed else value_ug
    per_ug = table.steps_per_ug()
    steps = step_count(value, per_ug)
    bands = table.band_steps()
    # Bands are chosen on the reading itself (C <= C_hi iff value < start of C_hi + 1 step), so
    # the step count is built once per branch, only in the branch taken.
    expression = F.when(_invalid(value_ug), F.lit(None))
    if bands[0][0] > 0:
        expression = expression.when(value < step_boundary(bands[0][0], per_ug), F.lit(None))
    for lo, hi, i_lo, i_hi in bands:
        span_c, span_i = hi - lo, i_hi - i_lo
        index = F.floor((2 * span_i * (steps - lo) + span_c) / (2 * span_c)) + i_lo
        expression = expression.when(value < step_boundary(hi + 1, per_ug), index)
    top = F.lit(MAX_INDEX) if table.open_top else F.lit(None)
    return expression.otherwise(top).cast("int")


def epa_o3_sub_index(o3_1h_ug: Column, o3_8h_ug: Column) -> Column:
    """O3: the larger of the 8-hour index (defined up to 300) and the 1-hour one (from 101)."""
    return F.greatest(
        epa_sub_index(o3_8h_ug, EPA_O3_8H, computed=True), epa_sub_index(o3_1h_ug, EPA_O3_1H)
    )


def epa_hourly_then_24h_sub_index(
    value_1h_ug: Column, mean_24h_ug: Column, hourly: EpaTable, daily: EpaTable
) -> Column:
    """The 1-hour table's index up to its top; above it the 24-hour mean's, at least the index
    the 1-hour table stops at (`EpaRule.HOURLY_THEN_24H`)."""
    top = hourly.bands[-1][3]
    by_hour = epa_sub_index(value_1h_ug, hourly)
    by_day = epa_sub_index(mean_24h_ug, daily, computed=True)
    return F.when(~_invalid(value_1h_ug), F.coalesce(by_hour, by_day, F.lit(top)))


def epa_so2_sub_index(so2_1h_ug: Column, so2_24h_ug: Column) -> Column:
    """SO2: the 1-hour index up to 200; above 304 ppb the 24-hour mean's (at least 200)."""
    return epa_hourly_then_24h_sub_index(so2_1h_ug, so2_24h_ug, EPA_SO2_1H, EPA_SO2_24H)


def vn_sub_index(value_ug: Column, table: VnTable, computed: bool = False) -> Column:
    """VN_AQI sub-index: linear between the Bảng 2 levels, rounded half up, 500 from the top."""
    value = nudged(value_ug) if computed else value_ug
    expression = F.when(_invalid(value_ug), F.lit(None))
    for lo, hi, i_lo, i_hi in table.bands():
        expression = expression.when(
            value <= hi, round_half_up_interpolation(value, lo, hi, i_lo, i_hi)
        )
    top = F.lit(MAX_INDEX) if table.open_top else F.lit(None)
    return expression.otherwise(top).cast("int")


def vn_o3_daily_sub_index(max_1h_ug: Column, max_8h_ug: Column) -> Column:
    """Daily O3 (§2.2.2 b): the larger of the max 1-h and max 8-h indices; 8-h unused above 400."""
    return F.greatest(
        vn_sub_index(max_1h_ug, VN_O3_1H), vn_sub_index(max_8h_ug, VN_O3_8H, computed=True)
    )


def vn_category_column(index: Column) -> Column:
    """VN_AQI band name (Decision 1459/QĐ-TCMT, Bảng 1); null for a null index."""
    expression = F.when(index.isNull(), F.lit(None))
    for name, _, high in VN_CATEGORIES:
        expression = expression.when(index <= high, F.lit(name))
    return expression.otherwise(F.lit(VN_CATEGORIES[-1][0]))
