"""Hourly indices as agencies report them (SPEC §9): every pollutant's EPA and VN_AQI sub-index.

From silver hours (with LOOKBACK_HOURS before the window, so the first hours of a range equal
those of a longer run): the averages each table is defined on, the sub-indices, one row per
hour and pollutant, and the overall US AQI with its dominant pollutant and VN_AQI with its
own. Column expressions only, one window pass per average; callers keep the
window's rows afterwards.
"""

from __future__ import annotations

from datetime import datetime
from functools import reduce
from operator import or_

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from aqi_assets.catalog.pollutants import SUB_INDEX_POLLUTANTS, Averaging, EpaRule, entry
from aqi_assets.transforms.aqi.breakpoints import EpaTable, epa_tables, vn_particles, vn_tables
from aqi_assets.transforms.aqi.nowcast import (
    RAW_COLUMNS,
    over_hours,
    with_epa_nowcasts,
    with_nowcast,
)
from aqi_assets.transforms.aqi.open_meteo_aqi import with_open_meteo_pm25_aqi
from aqi_assets.transforms.aqi.rolling import trailing_mean
from aqi_assets.transforms.aqi.sub_index import (
    epa_hourly_then_24h_sub_index,
    epa_sub_index,
    epa_truncated,
    vn_sub_index,
)

# The longest average (24 h) needs the 23 hours before a window's first hour.
LOOKBACK_HOURS = 23
# The catalogue's pollutants with both sub-indices, in tie order.
POLLUTANTS = SUB_INDEX_POLLUTANTS
INDEX_COLUMNS = ("aqi_overall", "dominant_pollutant", "vn_aqi", "vn_dominant_pollutant")


def average_column(pollutant: str, averaging: Averaging) -> str:
    """The column of a pollutant's trailing average (`o3_8h`); the hour's own for 1 hour."""
    return pollutant if averaging is Averaging.HOUR_1 else f"{pollutant}_{averaging.value}"


def with_averages(df: DataFrame) -> DataFrame:
    """Add the averages the tables use (24-h PM and SO2, 8-h O3 and CO: every period over an
    hour of the catalogue), and the untruncated NowCasts unless `df` holds them (silver
    stores them)."""
    averages = [
        trailing_mean(p, a.hours).alias(average_column(p, a))
        for p in POLLUTANTS
        for a in entry(p).averaging_periods
        if a is not Averaging.HOUR_1
    ]

    def build(hours: DataFrame) -> DataFrame:
        averaged = hours.select("*", *averages)
        for value, raw in zip(("pm25", "pm10"), RAW_COLUMNS, strict=True):
            if raw not in averaged.columns:
                averaged = with_nowcast(averaged, value, raw)
        return averaged

    return over_hours(df, build)


def _on_average(pollutant: str, table: EpaTable) -> Column:
    """The table's sub-index of the average it is defined on (means marked computed)."""
    column = average_column(pollutant, table.averaging)
    return epa_sub_index(F.col(column), table, computed=column != pollutant)


def epa_index(pollutant: str, pm25_table: EpaTable) -> Column:
    """A pollutant's EPA sub-index: its tables combined by its catalogue entry's rule."""
    tables = epa_tables(pollutant, pm25_table)
    if entry(pollutant).epa_rule is EpaRule.HOURLY_THEN_24H:
        hourly, daily = tables
        mean = F.col(average_column(pollutant, daily.averaging))
        return epa_hourly_then_24h_sub_index(F.col(pollutant), mean, hourly, daily)
    indices = [_on_average(pollutant, t) for t in tables]
    return indices[0] if len(indices) == 1 else F.greatest(*indices)


def vn_index(pollutant: str) -> Column:
    """A pollutant's hourly VN_AQI sub-index (Decision 1459 §2.2.1): gases on the hour's value,
    particles (a 24-hour table) on the untruncated NowCast."""
    table = vn_tables(pollutant)[0]
    if table.averaging is Averaging.HOUR_1:
        return vn_sub_index(F.col(pollutant), table)
    return vn_sub_index(F.col(f"nowcast_{pollutant}_raw"), table, computed=True)


def with_sub_indices(df: DataFrame, pm25_table: EpaTable) -> DataFrame:
    """Add epa_<p> and vn_<p> for each pollutant (expects `with_averages`' columns)."""
    return df.select(
        "*",
        *[epa_index(p, pm25_table).alias(f"epa_{p}") for p in POLLUTANTS],
        *[vn_index(p).alias(f"vn_{p}") for p in POLLUTANTS],
    )


def indexed_hours(silver: DataFrame, pm25_table: EpaTable) -> DataFrame:
    """Silver hours (plus lookback) with every average and every pollutant's two sub-indices."""
    return with_sub_indices(with_averages(silver), pm25_table)


def _epa_tables(pm25_table: EpaTable) -> dict[str, tuple[str, EpaTable]]:
    """Each pollutant's reported EPA table and the column holding the concentration it is
    defined on."""
    reported = {p: epa_tables(p, pm25_table)[0] for p in POLLUTANTS}
    return {p: (average_column(p, t.averaging), t) for p, t in reported.items()}


# What `pollutant_rows` reads beside the hour's keys and concentrations.
POLLUTANT_ROW_INPUTS = (
    *(
        average_column(p, entry(p).epa_averaging[0])
        for p in POLLUTANTS
        if entry(p).epa_averaging[0] is not Averaging.HOUR_1
    ),
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
    has_pm = reduce(or_, [F.col(f"vn_{p}").isNotNull() for p in vn_particles(POLLUTANTS)])
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
