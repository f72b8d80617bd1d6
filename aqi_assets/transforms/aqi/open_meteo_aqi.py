"""Open-Meteo's own `us_aqi_pm2_5`, recomputed for the cross-check (SPEC §9), never a source.

Their method (open-meteo/open-meteo, Sources/App/Cams/CamsReader.swift `us_aqi_pm2_5` and
Sources/App/Helper/AirQuality.swift `UnitedStatesAirQuality`, 2024 thresholds since
2026-07-13): the mean of the 24 hourly PM2.5 values before t (`slidingAverageDroppingFirstDt`,
NaN if any is missing), placed continuously between class thresholds without truncation
(`positionExtrapolated`, extrapolated above the last) and scaled (classes 0-4 by 50, above by
100 minus 200).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from aqi_assets.transforms.aqi.aqi_reference import OPEN_METEO_PM25
from aqi_assets.transforms.aqi.nowcast import over_hours
from aqi_assets.transforms.aqi.rolling import previous_hours_mean

HOURS = 24
AGREEMENT_POINTS = 1.0


def open_meteo_scale(mean: Column) -> Column:
    """Continuous US AQI of a 24-hour mean the way Open-Meteo computes it; null below zero."""
    thresholds = OPEN_METEO_PM25
    position = F.when(mean.isNull() | F.isnan(mean) | (mean < 0), F.lit(None))
    for i in range(1, len(thresholds)):
        lo, hi = thresholds[i - 1], thresholds[i]
        position = position.when(mean < hi, F.lit(i - 1) + (mean - lo) / (hi - lo))
    lo, hi = thresholds[-2], thresholds[-1]
    position = position.otherwise(F.lit(len(thresholds) - 1) + (mean - hi) / (hi - lo))
    return F.when(position <= 4, position * 50).otherwise(position * 100 - 200)


def with_open_meteo_pm25_aqi(df: DataFrame, out: str = "om_us_aqi_pm25") -> DataFrame:
    """Add `out`: Open-Meteo's PM2.5 AQI recomputed from `pm25` (needs the 24 hours before)."""
    # The mean goes into a column of its own first: Spark would otherwise compute one window
    # aggregate per occurrence of it in the scale's CASE chain (dozens per row).
    mean = f"__{out}_mean"
    with_mean = over_hours(df, lambda d: d.withColumn(mean, previous_hours_mean("pm25", HOURS)))
    return with_mean.withColumn(out, open_meteo_scale(F.col(mean))).drop(mean)


@dataclass(frozen=True)
class Agreement:
    """How often the recomputed index agrees with the API's `us_aqi_pm2_5`."""

    compared_hours: int
    agreeing_hours: int

    @property
    def share(self) -> float:
        """Share of compared hours within AGREEMENT_POINTS (1.0 when none could be compared)."""
        return self.agreeing_hours / self.compared_hours if self.compared_hours else 1.0


def agreement(df: DataFrame, recomputed: str = "om_us_aqi_pm25") -> Agreement:
    """Hours where both indices exist, and those within 1 AQI point of each other."""
    both = F.col(recomputed).isNotNull() & F.col("us_aqi_pm2_5").isNotNull()
    close = both & (F.abs(F.col(recomputed) - F.col("us_aqi_pm2_5")) <= AGREEMENT_POINTS)
    row = df.agg(
        F.sum(F.when(both, 1).otherwise(0)).alias("compared"),
        F.sum(F.when(close, 1).otherwise(0)).alias("agreeing"),
    ).first()
    return Agreement(int(row["compared"] or 0), int(row["agreeing"] or 0))
