"""Silver hours -> one row per location and local calendar day (the location's IANA zone).

The measures of `fact_city_daily` on local days, VN_AQI's daily index (Decision 1459/QĐ-TCMT
§2.2.2) and the days above the WHO 2021 24-hour guidelines.
"""

from __future__ import annotations

from datetime import date
from functools import reduce
from operator import or_

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from aqi_assets.catalog.pollutants import SUB_INDEX_POLLUTANTS, Averaging
from aqi_assets.transforms.aqi.breakpoints import (
    WHO_24H_GUIDELINE,
    VnTable,
    vn_particles,
    vn_tables,
)
from aqi_assets.transforms.aqi.epa_pm25 import AqiTable
from aqi_assets.transforms.aqi.exact import COMPUTED_NUDGE
from aqi_assets.transforms.aqi.nowcast import over_hours
from aqi_assets.transforms.aqi.rolling import trailing_mean
from aqi_assets.transforms.aqi.sub_index import vn_sub_index
from aqi_assets.transforms.daily import MIN_HOURS_FOR_DAILY_AQI, city_daily
from aqi_assets.transforms.fetch_flags import past_hours
from aqi_assets.transforms.silver_rows import date_key

# A local day lies within the UTC day before and after it for every zone (UTC-12 to UTC+14),
# and its 8-hour means reach 7 hours further back: read one whole UTC day on each side.
READ_MARGIN_DAYS = 1
# Each pollutant's VN_AQI tables (Decision 1459 §2.2.2), from the catalogue.
VN_DAILY: tuple[tuple[str, VnTable], ...] = tuple(
    (p, t) for p in SUB_INDEX_POLLUTANTS for t in vn_tables(p)
)


def daily_column(pollutant: str, averaging: Averaging) -> str:
    """The day's value a VN_AQI table applies to: the 24-hour mean, or the max 1-h / 8-h one."""
    if averaging is Averaging.HOUR_24:
        return f"{pollutant}_24h"
    return f"{pollutant}_max_{averaging.value}"


def with_local_dates(hours: DataFrame, zones: DataFrame) -> DataFrame:
    """`hours` plus `date_local`, from (location_key, time_zone); 8-h O3 means for VN_AQI."""
    local = F.from_utc_timestamp(F.col("ts_utc"), F.col("time_zone"))
    located = past_hours(hours).join(F.broadcast(zones), "location_key")
    means = [
        trailing_mean(p, t.averaging.hours).alias(f"{p}_{t.averaging.value}")
        for p, t in VN_DAILY
        if t.averaging is Averaging.HOUR_8
    ]
    return over_hours(
        located, lambda d: d.select("*", F.to_date(local).alias("date_local"), *means)
    )


def above_guideline(pollutant: str) -> float:
    """The WHO guideline plus a mean's floating error: a mean equal to it is not above it."""
    return float(WHO_24H_GUIDELINE[pollutant]) * (1 + COMPUTED_NUDGE)


def _daily_pollutants(hours: DataFrame) -> DataFrame:
    complete = MIN_HOURS_FOR_DAILY_AQI

    def mean_24h(column: str):
        return F.when(F.count(column) >= complete, F.avg(column))

    def day_value(pollutant: str, averaging: Averaging):
        if averaging is Averaging.HOUR_24:
            return mean_24h(pollutant)
        hourly = averaging is Averaging.HOUR_1
        return F.max(pollutant if hourly else f"{pollutant}_{averaging.value}")

    return hours.groupBy("location_key", "date_local").agg(
        *[day_value(p, t.averaging).alias(daily_column(p, t.averaging)) for p, t in VN_DAILY]
    )


def vn_daily_index(pollutant: str) -> Column:
    """A pollutant's VN_AQI daily sub-index: the larger over its tables (O3: max 1-h and max
    8-h, 8-h unused above 400), means marked computed."""
    indices = [
        vn_sub_index(
            F.col(daily_column(pollutant, t.averaging)),
            t,
            computed=t.averaging is not Averaging.HOUR_1,
        )
        for p, t in VN_DAILY
        if p == pollutant
    ]
    return indices[0] if len(indices) == 1 else F.greatest(*indices)


def local_daily(hours: DataFrame, zones: DataFrame, aqi_table: AqiTable, first: date, stop: date):
    """One row per location and local day in [first, stop) from silver hours around them.

    `vn_aqi_daily`: the largest VN_AQI daily sub-index (PM 24-hour means, O3 max 1-h and 8-h,
    NO2 / SO2 / CO max 1-h), null without a PM mean; `who_pm25_exceeded` / `who_pm10_exceeded`:
    the 24-hour mean above the WHO 2021 guideline, null under 18 hours with data.
    """
    dated = with_local_dates(hours, zones).where(
        (F.col("date_local") >= F.lit(first)) & (F.col("date_local") < F.lit(stop))
    )
    keyed = dated.withColumn("date_key", date_key(F.col("date_local").cast("timestamp")))
    measures = city_daily(keyed, aqi_table).drop("date_utc", "is_final")
    per_day = _daily_pollutants(dated)
    c = F.col
    daily = [vn_daily_index(p) for p in SUB_INDEX_POLLUTANTS]
    particles = [c(daily_column(p, Averaging.HOUR_24)).isNotNull() for p in vn_particles()]
    has_pm = reduce(or_, particles)
    indices = per_day.select(
        "location_key",
        "date_local",
        F.when(has_pm, F.greatest(*daily)).alias("vn_aqi_daily"),
        (c("pm25_24h") > above_guideline("pm25")).alias("who_pm25_exceeded"),
        (c("pm10_24h") > above_guideline("pm10")).alias("who_pm10_exceeded"),
    )
    measures = measures.withColumn(
        "date_local", F.to_date(c("date_key").cast("string"), "yyyyMMdd")
    ).drop("date_key")
    return measures.join(indices, ["location_key", "date_local"], "left")
