"""Open-Meteo payloads -> the bronze frame: one row per location and hour, as received."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from aqi_assets.catalog.pollutants import variable_names

# Every Open-Meteo variable of the pollutant catalogue: one bronze column each, null when a
# request did not ask for it.
API_VARIABLES: tuple[str, ...] = variable_names()

# An hour as Open-Meteo writes it with timezone=GMT. Anything else is left unparsed (a reject
# with a reason in silver): Spark 3.5 raises on a nearly valid text such as `...T05:00:00`
# instead of returning null, so only this shape reaches the parser.
TIME_PATTERN = r"^(19|20|21)\d{2}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d$"


def payload_schema(variables: Sequence[str]) -> T.StructType:
    """The parse schema of one API item: the hourly series of exactly the requested variables."""
    return T.StructType(
        [
            T.StructField("latitude", T.DoubleType()),
            T.StructField("longitude", T.DoubleType()),
            T.StructField("elevation", T.DoubleType()),
            T.StructField(
                "hourly",
                T.StructType(
                    [T.StructField("time", T.ArrayType(T.StringType()))]
                    + [T.StructField(v, T.ArrayType(T.DoubleType())) for v in variables]
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

# Ends every error this module raises inside Spark: how a caller knows a retry cannot help.
UNREADABLE_ANSWER = "; nothing was written. Request: "
PAYLOAD_COLUMNS = "location_key string, start_date date, source string, body string"
BUSINESS_FIELDS: tuple[str, ...] = ("location_key", "time", *API_VARIABLES)


class PayloadLike(Protocol):
    """One location's API item as JSON text, and the request it came from (resources.open_meteo.client)."""

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


def parse_time(text: Column) -> Column:
    """UTC timestamp of an API hour, null for any text not exactly `yyyy-MM-ddTHH:mm`."""
    return F.when(text.rlike(TIME_PATTERN), F.to_timestamp(text, "yyyy-MM-dd'T'HH:mm"))


def _unreadable(variables: Sequence[str]) -> Column:
    """Why a parsed item cannot become rows (a series Spark could not read as numbers), or null.

    The client already refused missing, null and short series; this catches values that are
    not numbers, which would otherwise make the whole location's rows vanish.
    """
    time = F.col("p.hourly.time")
    problem = F.when(time.isNull(), F.lit("its hourly time series cannot be read"))
    for v in variables:
        series = F.col(f"p.hourly.{v}")
        problem = problem.when(
            series.isNull() | (F.size(series) != F.size(time)),
            F.lit(f"the series of '{v}' cannot be read as numbers"),
        )
    return F.concat(
        F.lit("Open-Meteo answer for '"),
        F.col("location_key"),
        F.lit("': "),
        problem,
        F.lit(UNREADABLE_ANSWER),
        F.col("source"),
    )


def bronze_frame(
    payloads: DataFrame,
    ingested_at: datetime,
    batch_id: str,
    variables: Sequence[str] = API_VARIABLES,
) -> DataFrame:
    """Explode payload rows (`payload_frame`) into bronze rows with Spark (no per-hour Python loop).

    Items are parsed for the requested `variables`; bronze columns of variables not requested
    are null. `ts_utc` is NULL when `time` cannot be parsed; `event_date` then falls back to
    the day the API placed the hour in (hourly arrays are positional from the request's start
    date), so such rows still land in their partition and silver rejects them with a reason.
    """
    parsed = payloads.select(
        "location_key",
        "start_date",
        "source",
        F.from_json("body", payload_schema(variables)).alias("p"),
    )
    hourly = "p.hourly"
    zipped = F.arrays_zip(
        F.col(f"{hourly}.time").alias("time"),
        *[F.col(f"{hourly}.{v}").alias(v) for v in variables],
    )
    problem = _unreadable(variables)
    zipped = F.when(problem.isNull(), zipped).otherwise(F.raise_error(problem))
    exploded = parsed.select(
        "location_key",
        "start_date",
        "source",
        F.col("p.latitude").alias("grid_latitude"),
        F.col("p.longitude").alias("grid_longitude"),
        F.col("p.elevation").alias("elevation"),
        F.posexplode(zipped).alias("pos", "h"),
    )
    ts = parse_time(F.col("h.time"))
    rows = exploded.select(
        "location_key",
        F.col("h.time").alias("time"),
        ts.alias("ts_utc"),
        F.coalesce(
            F.to_date(ts), F.date_add("start_date", F.floor(F.col("pos") / 24).cast("int"))
        ).alias("event_date"),
        *[(F.col(f"h.{v}") if v in variables else F.lit(None)).alias(v) for v in API_VARIABLES],
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
