"""Reference floor: the silver, daily and episode computations over the same raw data, in DuckDB."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from aqi_assets.catalog.pollutants import REQUESTED_VARIABLES
from aqi_assets.config.reference import load_locations
from aqi_assets.transforms.aqi.epa_pm25 import BREAKPOINTS, AqiTable
from resources.open_meteo.client import OpenMeteoResource


def _aqi_sql(column: str) -> str:
    c = f"(floor({column} * 10) / 10)"
    cases = [
        f"WHEN {c} <= {hi} THEN round(({i_hi} - {i_lo}) / ({hi} - {lo}) * ({c} - {lo}) + {i_lo})"
        for lo, hi, i_lo, i_hi in BREAKPOINTS[AqiTable.EPA_2024]
    ]
    return f"CASE WHEN {column} IS NULL OR isnan({column}) OR {column} < 0 THEN NULL {' '.join(cases)} ELSE 500 END"


def raw_table(base_url: str, locations_path: Path, first: date, last: date) -> tuple[pa.Table, int]:
    """The hourly rows of every location, fetched with the project's client."""
    fetched = OpenMeteoResource(
        base_url=base_url, hourly_variables=list(REQUESTED_VARIABLES)
    ).fetch_hourly(load_locations(locations_path), first, last)
    columns: dict[str, list] = {"location_key": [], "time": [], "pm2_5": []}
    for item in fetched.items:
        hourly = item.payload["hourly"]
        columns["location_key"].extend([item.location_key] * len(hourly["time"]))
        columns["time"].extend(hourly["time"])
        columns["pm2_5"].extend(hourly["pm2_5"])
    return pa.table(columns), fetched.api_calls


def run_reference(base_url: str, locations_path: Path, first: date, last: date) -> dict:
    """Fetch, then time silver + daily + episodes in one DuckDB process."""
    started = time.perf_counter()
    raw, calls = raw_table(base_url, locations_path, first, last)
    fetched = time.perf_counter()
    con = duckdb.connect()
    con.register("raw", raw)
    con.execute(f"""
        CREATE TABLE silver AS
        SELECT location_key, ts, pm2_5 AS pm25, {_aqi_sql("pm2_5")} AS aqi FROM (
          SELECT *, strptime(time, '%Y-%m-%dT%H:%M') AS ts,
                 row_number() OVER (PARTITION BY location_key, time ORDER BY time) AS rn
          FROM raw) WHERE rn = 1 AND (pm2_5 IS NULL OR pm2_5 BETWEEN 0 AND 1500)""")
    con.execute(f"""
        CREATE TABLE daily AS
        SELECT location_key, CAST(ts AS DATE) AS day, avg(pm25) AS avg_pm25, max(pm25) AS max_pm25,
               min(pm25) AS min_pm25, avg(aqi) AS avg_aqi, max(aqi) AS max_aqi,
               {_aqi_sql("avg(pm25)")} AS daily_aqi, count(*) AS total_hours,
               count(*) FILTER (WHERE aqi <= 50) AS hours_good,
               count(*) FILTER (WHERE aqi > 300) AS hours_hazardous
        FROM silver GROUP BY 1, 2""")
    con.execute("""
        CREATE TABLE episodes AS
        WITH high AS (
          SELECT location_key, ts, aqi, epoch(ts) / 3600 - row_number() OVER (PARTITION BY location_key ORDER BY ts) AS island
          FROM silver WHERE aqi >= 151)
        SELECT location_key, min(ts) AS start_ts, max(ts) AS end_ts, count(*) AS duration_hours,
               avg(aqi) AS avg_aqi, max(aqi) AS max_aqi
        FROM high GROUP BY location_key, island HAVING count(*) >= 4""")
    done = time.perf_counter()
    counts = {
        t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("silver", "daily", "episodes")
    }
    return {
        "fetch_seconds": round(fetched - started, 2),
        "compute_seconds": round(done - fetched, 3),
        "api_calls": calls,
        "rows": counts,
    }
