"""Exact truncation and rounding of doubles against decimal boundaries, as Spark columns.

A reading such as 9.09995 µg/m³ is the decimal its double prints as; whether it reaches a
boundary such as 9.1 is decided by comparing the double with the double nearest that boundary,
which is exact for boundaries with at most 15 significant digits (IEEE division rounds
correctly). No intermediate rounding (a decimal cast, a float multiply) decides a step.
"""

from __future__ import annotations

from fractions import Fraction

from pyspark.sql import Column
from pyspark.sql import functions as F

# Relative nudge for *computed* concentrations (means, NowCast): their floating error (about
# 1e-15 relative after a few dozen operations) must not move a value that equals a boundary
# below it. Readings taken as given (hourly values) are never nudged.
COMPUTED_NUDGE = 1e-12


def _ratio(numerator: Column | int, denominator: int) -> Column:
    """numerator / denominator in double, correctly rounded (both exact below 2**53)."""
    top = numerator if isinstance(numerator, Column) else F.lit(numerator)
    return top.cast("double") / F.lit(float(denominator))


def nudged(value: Column) -> Column:
    """A computed concentration moved up by its relative floating error (see COMPUTED_NUDGE)."""
    return value + F.abs(value) * F.lit(COMPUTED_NUDGE)


def step_boundary(k: int, steps_per_unit: Fraction) -> float:
    """The double nearest to where step k starts (k / steps_per_unit units)."""
    return float(Fraction(k) / steps_per_unit)


def step_count(value: Column, steps_per_unit: Fraction) -> Column:
    """floor(value * steps_per_unit) as a long, exact for the decimal the double prints as.

    m = floor(value * r + 1/2) is the step nearest to the estimate, so the true count is m or
    m - 1: one comparison with the double nearest to step m's start settles it. `value` appears
    twice: pass a column reference, not a long expression.
    """
    n, d = steps_per_unit.numerator, steps_per_unit.denominator
    nearest = F.floor(value * F.lit(n / d) + F.lit(0.5))
    # Step m starts at m * d / n units.
    return nearest - F.when(_ratio(nearest * d, n) > value, 1).otherwise(0)


def round_half_up_interpolation(value: Column, lo: int, hi: int, i_lo: int, i_hi: int) -> Column:
    """round_half_up((i_hi - i_lo) / (hi - lo) * (value - lo) + i_lo), exact, as an int.

    The index reaches n when value >= lo + (n - 1/2 - i_lo) * (hi - lo) / (i_hi - i_lo), a
    boundary with a short decimal expansion for every table here: the candidate nearest to the
    estimate is checked against it as in `step_count`.
    """
    span_c, span_i = hi - lo, i_hi - i_lo
    nearest = F.floor((value - F.lit(lo)) * F.lit(span_i / span_c) + F.lit(i_lo + 1.0))
    # 2 * span_i * start(n) = 2 * lo * span_i + (2n - 1 - 2 i_lo) * span_c
    start = _ratio(F.lit(2 * lo * span_i) + (nearest * 2 - 1 - 2 * i_lo) * span_c, 2 * span_i)
    return (nearest - F.when(start > value, 1).otherwise(0)).cast("int")
