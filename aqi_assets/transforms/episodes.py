"""Pollution episodes: maximal runs of consecutive high-AQI hours (gaps and islands)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from aqi_assets.transforms.aqi.epa_pm25 import aqi_category_column
from aqi_assets.transforms.daily import exact_mean


def detect_episodes(hourly: DataFrame, aqi_threshold: int = 151, min_hours: int = 4) -> DataFrame:
    """Episodes from hourly rows (location_key, ts_utc, aqi), computed whole across days.

    A missing hour or a null AQI ends a run. `is_ongoing` marks an episode whose last hour is
    the location's last hour with PM2.5 (a null AQI means no PM2.5). Give it past hours only
    (`past_hours`): then no episode ends after the fetch instant.
    """
    last_hour = (
        hourly.where(F.col("aqi").isNotNull())
        .groupBy("location_key")
        .agg(F.max("ts_utc").alias("last_available"))
    )
    hour_number = (F.unix_timestamp("ts_utc") / 3600).cast("long")
    high = hourly.where(F.col("aqi") >= aqi_threshold).withColumn("hour_number", hour_number)
    # Consecutive hours share hour_number - row_number: that difference names the island.
    by_time = Window.partitionBy("location_key").orderBy("hour_number")
    islands = high.withColumn("island", F.col("hour_number") - F.row_number().over(by_time))
    runs = islands.groupBy("location_key", "island").agg(
        F.min("ts_utc").alias("start_ts"),
        F.max("ts_utc").alias("end_ts"),
        F.count("*").cast("int").alias("duration_hours"),
        exact_mean("aqi").alias("avg_aqi"),
        F.max("aqi").cast("int").alias("max_aqi"),
    )
    episodes = runs.where(F.col("duration_hours") >= min_hours).join(last_hour, "location_key")
    episode_id = F.substring(
        F.sha2(
            F.concat_ws(
                "|",
                "location_key",
                F.date_format("start_ts", "yyyy-MM-dd'T'HH:mm"),
                F.lit(str(aqi_threshold)),
            ),
            256,
        ),
        1,
        16,
    )
    return episodes.select(
        episode_id.alias("episode_id"),
        "location_key",
        "start_ts",
        "end_ts",
        F.to_date("start_ts").alias("start_date"),
        "duration_hours",
        "avg_aqi",
        "max_aqi",
        aqi_category_column(F.col("max_aqi")).alias("severity_level"),
        F.lit(aqi_threshold).cast("int").alias("aqi_threshold"),
        (F.col("end_ts") == F.col("last_available")).alias("is_ongoing"),
    )


def affected_start_dates(
    new_episodes: DataFrame, old_episodes: DataFrame, window_start: datetime, window_end: datetime
) -> DataFrame:
    """Start days whose episodes a run over [window_start, window_end) may have changed.

    New hours inside the window can extend, merge, split or end episodes that touch it, and an
    episode that ended the hour before the window, or starts at its end, can merge with new
    data inside it. So every old or new episode whose [start_ts, end_ts] meets
    [window_start - 1h, window_end] is rewritten, in the partition of its own start day.
    """
    lo = F.lit(window_start - timedelta(hours=1)).cast("timestamp")
    hi = F.lit(window_end).cast("timestamp")
    touching = (F.col("end_ts") >= lo) & (F.col("start_ts") <= hi)
    columns = ["start_date", "start_ts", "end_ts"]
    both = new_episodes.select(*columns).unionByName(old_episodes.select(*columns))
    return both.where(touching).select("start_date").distinct()


# How far before a run's window episode detection first reads; widened while an episode reaches it.
INITIAL_LOOKBACK = timedelta(days=7)
# The columns of stored episodes that decide which start days a run rewrites.
EPISODE_BOUNDS_SCHEMA = "start_date date, start_ts timestamp, end_ts timestamp"


@dataclass(frozen=True)
class EpisodeRewrite:
    """What one fact_episode run writes: the `detected` episodes starting in [write_start, write_end).

    `detected` is persisted; unpersist it once written.
    """

    detected: DataFrame
    write_start: date
    write_end: date
    read_since: datetime

    @property
    def to_write(self) -> DataFrame:
        """The detected episodes whose start day is in [write_start, write_end)."""
        day = F.col("start_date")
        return self.detected.where((day >= F.lit(self.write_start)) & (day < F.lit(self.write_end)))


def plan_rewrite(
    hourly: DataFrame,
    old_episodes: DataFrame,
    window_start: datetime,
    window_end: datetime,
    aqi_threshold: int,
    min_hours: int,
) -> EpisodeRewrite:
    """Episodes around [window_start, window_end), reading only the hours they can depend on.

    Hours before the window are unchanged, so an episode touching it reaches back at most as far
    as its run of high hours does. Detection reads from `read_since` (midnight, 7 days before the
    window at first) to the end of the data; while an episode to rewrite starts on the first day
    read, and older hours exist, the look-back is widened fourfold.
    """
    lookback = max(INITIAL_LOOKBACK, timedelta(hours=min_hours, days=1))
    earliest: datetime | None = None
    while True:
        since = datetime.combine((window_start - lookback).date(), datetime.min.time())
        read = hourly.where(F.col("ts_utc") >= F.lit(since).cast("timestamp"))
        episodes = detect_episodes(read, aqi_threshold, min_hours).persist()
        bounds = (
            affected_start_dates(episodes, old_episodes, window_start, window_end)
            .agg(F.min("start_date").alias("lo"), F.max("start_date").alias("hi"))
            .first()
        )
        write_start = min(window_start.date(), bounds["lo"] or window_start.date())
        write_end = max(
            window_end.date(), (bounds["hi"] or window_start.date()) + timedelta(days=1)
        )
        if write_start > since.date():
            break
        if earliest is None:
            earliest = hourly.agg(F.min("ts_utc")).first()[0]
        if earliest is None or earliest >= since:
            break
        episodes.unpersist()
        lookback *= 4
    return EpisodeRewrite(episodes, write_start, write_end, since)
