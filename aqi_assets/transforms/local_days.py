"""Silver hours -> one row per location and local calendar day (the location's IANA zone).

The measures of `fact_city_daily` on local days, VN_AQI's daily index (Decision 1459/QĐ-TCMT
§2.2.2) and the days above the WHO 2021 24-hour guidelines.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from aqi_assets.transforms.aqi.breakpoints import (
    VN_CO,
    VN_NO2,
    VN_PM10,
    VN_PM25,
    VN_SO2,
    WHO_24H_GUIDELINE,
)
from aqi_assets.transforms.aqi.epa_pm25 import AqiTable
from aqi_assets.transforms.aqi.exact import COMPUTED_NUDGE
from aqi_assets.transforms.aqi.nowcast import over_hours
from aqi_assets.transforms.aqi.rolling import trailing_mean
from aqi_assets.transforms.aqi.sub_index import vn_o3_daily_sub_index, vn_sub_index
from aqi_assets.transforms.daily import MIN_HOURS_FOR_DAILY_AQI, city_daily
from aqi_assets.transforms.fetch_flags import past_hours
from aqi_assets.transforms.silver_rows import date_key

# A local day lies within the UTC day before and after it for every zone (UTC-12 to UTC+14),
# and its 8-hour means reach 7 hours further back: read one whole UTC day on each side.
READ_MARGIN_DAYS = 1


def with_local_dates(hours: DataFrame, zones: DataFrame) -> DataFrame:
    """`hours` plus `date_local`, from (location_key, time_zone); 8-h O3 means for VN_AQI."""
    local = F.from_utc_timestamp(F.col("ts_utc"), F.col("time_zone"))
    located = past_hours(hours).join(F.broadcast(zones), "location_key")
    return over_hours(
        located,
        lambda d: d.select(
            "*", F.to_date(local).alias("date_local"), trailing_mean("o3", 8).alias("o3_8h")
        ),
    )


def above_guideline(pollutant: str) -> float:
    """The WHO guideline plus a mean's floating error: a mean equal to it is not above it."""
    return float(WHO_24H_GUIDELINE[pollutant]) * (1 + COMPUTED_NUDGE)


def _daily_pollutants(hours: DataFrame) -> DataFrame:
    complete = MIN_HOURS_FOR_DAILY_AQI

    def mean_24h(column: str):
        return F.when(F.count(column) >= complete, F.avg(column))

    return hours.groupBy("location_key", "date_local").agg(
        mean_24h("pm25").alias("pm25_24h"),
        mean_24h("pm10").alias("pm10_24h"),
        F.max("o3").alias("o3_max_1h"),
        F.max("o3_8h").alias("o3_max_8h"),
        F.max("no2").alias("no2_max_1h"),
        F.max("so2").alias("so2_max_1h"),
        F.max("co").alias("co_max_1h"),
    )


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
    pm = [
        vn_sub_index(c("pm25_24h"), VN_PM25, computed=True),
        vn_sub_index(c("pm10_24h"), VN_PM10, computed=True),
    ]
    gases = [
        vn_o3_daily_sub_index(c("o3_max_1h"), c("o3_max_8h")),
        vn_sub_index(c("no2_max_1h"), VN_NO2),
        vn_sub_index(c("so2_max_1h"), VN_SO2),
        vn_sub_index(c("co_max_1h"), VN_CO),
    ]
    has_pm = c("pm25_24h").isNotNull() | c("pm10_24h").isNotNull()
    indices = per_day.select(
        "location_key",
        "date_local",
        F.when(has_pm, F.greatest(*pm, *gases)).alias("vn_aqi_daily"),
        (c("pm25_24h") > above_guideline("pm25")).alias("who_pm25_exceeded"),
        (c("pm10_24h") > above_guideline("pm10")).alias("who_pm10_exceeded"),
    )
    measures = measures.withColumn(
        "date_local", F.to_date(c("date_key").cast("string"), "yyyyMMdd")
    ).drop("date_key")
    return measures.join(indices, ["location_key", "date_local"], "left")
