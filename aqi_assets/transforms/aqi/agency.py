"""Hourly indices as agencies report them (SPEC §9): every pollutant's EPA and VN_AQI sub-index.

From silver hours (with LOOKBACK_HOURS before the window, so the first hours of a range equal
those of a longer run): the averages each table is defined on, the sub-indices, one row per
hour and pollutant, and the overall US AQI with its dominant pollutant and VN_AQI with its
own. Column expressions only, one window pass per average; callers keep the
window's rows afterwards.
"""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from aqi_assets.transforms.aqi.breakpoints import (
    EPA_CO_8H,
    EPA_NO2_1H,
    EPA_O3_8H,
    EPA_PM10,
    EPA_SO2_1H,
    VN_CO,
    VN_NO2,
    VN_O3_1H,
    VN_PM10,
    VN_PM25,
    VN_SO2,
    EpaTable,
)
from aqi_assets.transforms.aqi.nowcast import (
    RAW_COLUMNS,
    over_hours,
    with_epa_nowcasts,
    with_nowcast,
)
from aqi_assets.transforms.aqi.open_meteo_aqi import with_open_meteo_pm25_aqi
from aqi_assets.transforms.aqi.rolling import trailing_mean
from aqi_assets.transforms.aqi.sub_index import (
    epa_o3_sub_index,
    epa_so2_sub_index,
    epa_sub_index,
    epa_truncated,
    vn_sub_index,
)

# The longest average (24 h) needs the 23 hours before a window's first hour.
LOOKBACK_HOURS = 23
POLLUTANTS = ("pm25", "pm10", "o3", "no2", "so2", "co")
INDEX_COLUMNS = ("aqi_overall", "dominant_pollutant", "vn_aqi", "vn_dominant_pollutant")


def with_averages(df: DataFrame) -> DataFrame:
    """Add the averages the tables use: 24-h PM and SO2, 8-h O3 and CO, and the untruncated
    NowCasts unless `df` holds them (silver stores them)."""

    def build(hours: DataFrame) -> DataFrame:
        averaged = hours.select(
            "*",
            trailing_mean("pm25", 24).alias("pm25_24h"),
            trailing_mean("pm10", 24).alias("pm10_24h"),
            trailing_mean("so2", 24).alias("so2_24h"),
            trailing_mean("o3", 8).alias("o3_8h"),
            trailing_mean("co", 8).alias("co_8h"),
        )
        for value, raw in zip(("pm25", "pm10"), RAW_COLUMNS, strict=True):
            if raw not in averaged.columns:
                averaged = with_nowcast(averaged, value, raw)
        return averaged

    return over_hours(df, build)


def with_sub_indices(df: DataFrame, pm25_table: EpaTable) -> DataFrame:
    """Add epa_<p> and vn_<p> for each pollutant (expects `with_averages`' columns)."""
    c = F.col
    return df.select(
        "*",
        epa_sub_index(c("pm25_24h"), pm25_table, computed=True).alias("epa_pm25"),
        epa_sub_index(c("pm10_24h"), EPA_PM10, computed=True).alias("epa_pm10"),
        epa_o3_sub_index(c("o3"), c("o3_8h")).alias("epa_o3"),
        epa_sub_index(c("no2"), EPA_NO2_1H).alias("epa_no2"),
        epa_so2_sub_index(c("so2"), c("so2_24h")).alias("epa_so2"),
        epa_sub_index(c("co_8h"), EPA_CO_8H, computed=True).alias("epa_co"),
        # VN_AQI hourly (Decision 1459 §2.2.1): PM from the untruncated NowCast, gases 1-hour.
        vn_sub_index(c("nowcast_pm25_raw"), VN_PM25, computed=True).alias("vn_pm25"),
        vn_sub_index(c("nowcast_pm10_raw"), VN_PM10, computed=True).alias("vn_pm10"),
        vn_sub_index(c("o3"), VN_O3_1H).alias("vn_o3"),
        vn_sub_index(c("no2"), VN_NO2).alias("vn_no2"),
        vn_sub_index(c("so2"), VN_SO2).alias("vn_so2"),
        vn_sub_index(c("co"), VN_CO).alias("vn_co"),
    )


def indexed_hours(silver: DataFrame, pm25_table: EpaTable) -> DataFrame:
    """Silver hours (plus lookback) with every average and every pollutant's two sub-indices."""
    return with_sub_indices(with_averages(silver), pm25_table)


def _epa_tables(pm25_table: EpaTable) -> dict[str, tuple[str, EpaTable]]:
    """Each pollutant's EPA table and the column holding the concentration it is defined on."""
    return {
        "pm25": ("pm25_24h", pm25_table),
        "pm10": ("pm10_24h", EPA_PM10),
        "o3": ("o3_8h", EPA_O3_8H),
        "no2": ("no2", EPA_NO2_1H),
        "so2": ("so2", EPA_SO2_1H),
        "co": ("co_8h", EPA_CO_8H),
    }


# What `pollutant_rows` reads beside the hour's keys and concentrations.
POLLUTANT_ROW_INPUTS = (
    "pm25_24h",
    "pm10_24h",
    "o3_8h",
    "co_8h",
    *(f"epa_{p}" for p in POLLUTANTS),
    *(f"vn_{p}" for p in POLLUTANTS),
)


def _pollutant_entry(pollutant: str, average: str, table: EpaTable) -> Column:
    """One pollutant's row of an hour (a struct `pollutant_rows` inlines)."""
    c = F.col
    return F.struct(
        F.lit(pollutant).alias("pollutant_key"),
        c(pollutant).alias("concentration"),
        F.lit(table.averaging.value).alias("averaging_period"),
        epa_truncated(c(average), table, computed=average != pollutant).alias(
            "averaged_concentration"
        ),
        F.lit(table.unit).alias("averaged_unit"),
        c(f"epa_{pollutant}").alias("epa_sub_index"),
        c(f"vn_{pollutant}").alias("vn_sub_index"),
    )


def pollutant_rows(
    indexed: DataFrame, pm25_table: EpaTable, extra: tuple[str, ...] = ()
) -> DataFrame:
    """One row per hour and pollutant of POLLUTANTS (each once): concentration, averaging
    period, the averaged concentration truncated in the EPA table's unit, `epa_sub_index` and
    `vn_sub_index`."""
    tables = _epa_tables(pm25_table)
    entries = [_pollutant_entry(p, *tables[p]) for p in POLLUTANTS]
    keys = ["location_key", "date_key", "time_key", "ts_utc", *extra]
    return indexed.select(*keys, F.inline(F.array(*entries)))


def _largest(prefix: str) -> tuple[Column, Column]:
    """(largest `<prefix><p>` over POLLUTANTS, the first pollutant in POLLUTANTS giving it)."""
    values = [F.col(f"{prefix}{p}") for p in POLLUTANTS]
    top = F.greatest(*values)
    dominant = F.when(values[0] == top, F.lit(POLLUTANTS[0]))
    for pollutant, value in zip(POLLUTANTS[1:], values[1:], strict=True):
        dominant = dominant.when(value == top, F.lit(pollutant))
    return top, dominant


def with_overall_indices(indexed: DataFrame) -> DataFrame:
    """Add the columns of INDEX_COLUMNS to `indexed_hours`' rows.

    `aqi_overall` is the largest EPA sub-index and `dominant_pollutant` the pollutant giving it
    (ties go to the one listed first in POLLUTANTS); `vn_aqi` / `vn_dominant_pollutant` the same
    for VN_AQI, which needs PM2.5 or PM10 (Decision 1459 §2.1 b): without either it is null.
    """
    epa, epa_dominant = _largest("epa_")
    vn, vn_dominant = _largest("vn_")
    has_pm = F.col("vn_pm25").isNotNull() | F.col("vn_pm10").isNotNull()
    return indexed.select(
        "*",
        epa.alias("aqi_overall"),
        epa_dominant.alias("dominant_pollutant"),
        F.when(has_pm, vn).alias("vn_aqi"),
        F.when(has_pm, vn_dominant).alias("vn_dominant_pollutant"),
    )


# Silver keeps Open-Meteo's own index beside a recomputation of it, which needs 24 hours back.
SILVER_LOOKBACK_HOURS = 24
RECOMPUTED_OPEN_METEO = "us_aqi_pm2_5_recomputed"


def silver_with_lookback(
    window: DataFrame, lookback: DataFrame, start: datetime, pm25_table: EpaTable
) -> DataFrame:
    """The window's silver rows with NowCast columns (the untruncated ones too) and Open-Meteo's
    recomputed PM2.5 index.

    `lookback` holds the silver rows of the SILVER_LOOKBACK_HOURS before `start` (same columns):
    they feed the windows and are dropped afterwards.
    """
    both = window.unionByName(lookback)

    def build(hours: DataFrame) -> DataFrame:
        nowcasts = with_epa_nowcasts(hours, pm25_table, keep_raw=True)
        return with_open_meteo_pm25_aqi(nowcasts, RECOMPUTED_OPEN_METEO)

    # One epoch column for both: their three windows share one sort of the rows.
    return over_hours(both, build).where(F.col("ts_utc") >= F.lit(start))
