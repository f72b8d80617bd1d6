"""Dimension frames: location, pollutant, hour of day and calendar day."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Protocol

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

PEAK_HOURS = (7, 8, 9, 17, 18, 19)


class LocationLike(Protocol):
    key: str
    name: str
    latitude: float
    longitude: float


class PollutantLike(Protocol):
    key: str
    name: str
    unit: str
    description: str


def dim_location(spark: SparkSession, locations: Sequence[LocationLike]) -> DataFrame:
    """One row per configured location."""
    return spark.createDataFrame(
        [(loc.key, loc.name, float(loc.latitude), float(loc.longitude)) for loc in locations],
        "location_key string, location_name string, latitude double, longitude double",
    )


def dim_pollutant(spark: SparkSession, pollutants: Sequence[PollutantLike]) -> DataFrame:
    """One row per pollutant of the reference list."""
    return spark.createDataFrame(
        [(p.key, p.name, p.unit, p.description) for p in pollutants],
        "pollutant_key string, pollutant_name string, unit string, description string",
    )


def dim_time(spark: SparkSession) -> DataFrame:
    """The 24 hours of a UTC day: period and peak flag."""
    hour = F.col("id").cast("int")
    period = (
        F.when(hour < 6, "Night")
        .when(hour < 12, "Morning")
        .when(hour < 18, "Afternoon")
        .otherwise("Evening")
    )
    return spark.range(24).select(
        hour.alias("time_key"),
        hour.alias("hour"),
        period.alias("period"),
        hour.isin(*PEAK_HOURS).alias("is_peak"),
    )


def dim_date(spark: SparkSession, start: date, end: date) -> DataFrame:
    """One row per day with start <= day < end."""
    last = end - timedelta(days=1)
    days = spark.sql(
        f"SELECT explode(sequence(DATE'{start}', DATE'{last}', INTERVAL 1 DAY)) AS date_utc"
    )
    if end <= start:
        days = days.limit(0)
    d = F.col("date_utc")
    iso_weekday = ((F.dayofweek(d) + 5) % 7 + 1).cast("int")
    return days.select(
        F.date_format(d, "yyyyMMdd").cast("int").alias("date_key"),
        d.alias("date_utc"),
        F.year(d).alias("year"),
        F.quarter(d).alias("quarter"),
        F.month(d).alias("month"),
        F.dayofmonth(d).alias("day"),
        F.date_format(d, "EEEE").alias("day_of_week"),
        iso_weekday.alias("day_of_week_number"),
        iso_weekday.isin(6, 7).alias("is_weekend"),
    )
