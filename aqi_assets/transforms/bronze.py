"""Open-Meteo payloads -> the bronze frame: one row per location and hour, as received."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from resources.open_meteo import DEFAULT_VARIABLES

API_VARIABLES: tuple[str, ...] = tuple(DEFAULT_VARIABLES)

_PAYLOAD_SCHEMA = T.StructType(
    [
        T.StructField("latitude", T.DoubleType()),
        T.StructField("longitude", T.DoubleType()),
        T.StructField("elevation", T.DoubleType()),
        T.StructField(
            "hourly",
            T.StructType(
                [T.StructField("time", T.ArrayType(T.StringType()))]
                + [T.StructField(v, T.ArrayType(T.DoubleType())) for v in API_VARIABLES]
            ),
        ),
    ]
)

BRONZE_SCHEMA = T.StructType(
    [
        T.StructField("location_key", T.StringType()),
        T.StructField("time", T.StringType()),
        T.StructField("ts_utc", T.TimestampType()),
        T.StructField("event_date", T.DateType()),
        *[T.StructField(v, T.DoubleType()) for v in API_VARIABLES],
        T.StructField("grid_latitude", T.DoubleType()),
        T.StructField("grid_longitude", T.DoubleType()),
        T.StructField("elevation", T.DoubleType()),
        T.StructField("ingested_at", T.TimestampType()),
        T.StructField("source", T.StringType()),
        T.StructField("batch_id", T.StringType()),
        T.StructField("row_hash", T.StringType()),
    ]
)

PAYLOAD_COLUMNS = "location_key string, start_date date, source string, body string"
BUSINESS_FIELDS: tuple[str, ...] = ("location_key", "time", *API_VARIABLES)


class PayloadLike(Protocol):
    """One location's API item as JSON text, and the request it came from (resources.open_meteo)."""

    location_key: str
    start_date: date
    source: str
    body: str


def row_hash(columns: Sequence[str]) -> Column:
    """SHA-256 fingerprint of the business fields; nulls and NaN are spelled out, not skipped."""
    parts = [F.coalesce(F.col(c).cast("string"), F.lit("\u2205")) for c in columns]
    return F.sha2(F.concat_ws("|", *parts), 256)


def payload_frame(spark: SparkSession, items: Sequence[PayloadLike]) -> DataFrame:
    """API items as (location_key, start_date, source, body) rows: their text moves into Spark."""
    return spark.createDataFrame(
        [(i.location_key, i.start_date, i.source, i.body) for i in items], PAYLOAD_COLUMNS
    )


def bronze_frame(payloads: DataFrame, ingested_at: datetime, batch_id: str) -> DataFrame:
    """Explode payload rows (`payload_frame`) into bronze rows with Spark (no per-hour Python loop).

    `ts_utc` is NULL when `time` cannot be parsed; `event_date` then falls back to the day the
    API placed the hour in (hourly arrays are positional from the request's start date), so
    such rows still land in their partition and silver rejects them with a reason.
    """
    parsed = payloads.select(
        "location_key", "start_date", "source", F.from_json("body", _PAYLOAD_SCHEMA).alias("p")
    )
    hourly = "p.hourly"
    zipped = F.arrays_zip(
        F.col(f"{hourly}.time").alias("time"),
        *[F.col(f"{hourly}.{v}").alias(v) for v in API_VARIABLES],
    )
    exploded = parsed.select(
        "location_key",
        "start_date",
        "source",
        F.col("p.latitude").alias("grid_latitude"),
        F.col("p.longitude").alias("grid_longitude"),
        F.col("p.elevation").alias("elevation"),
        F.posexplode(zipped).alias("pos", "h"),
    )
    ts = F.to_timestamp(F.col("h.time"), "yyyy-MM-dd'T'HH:mm")
    rows = exploded.select(
        "location_key",
        F.col("h.time").alias("time"),
        ts.alias("ts_utc"),
        F.coalesce(
            F.to_date(ts), F.date_add("start_date", F.floor(F.col("pos") / 24).cast("int"))
        ).alias("event_date"),
        *[F.col(f"h.{v}").alias(v) for v in API_VARIABLES],
        "grid_latitude",
        "grid_longitude",
        "elevation",
        F.lit(ingested_at).cast("timestamp").alias("ingested_at"),
        "source",
        F.lit(batch_id).alias("batch_id"),
    )
    return rows.withColumn("row_hash", row_hash(BUSINESS_FIELDS)).select(
        *[F.col(f.name).cast(f.dataType) for f in BRONZE_SCHEMA.fields]
    )
