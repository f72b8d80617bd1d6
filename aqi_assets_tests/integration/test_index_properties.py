"""Randomized sweeps (Hypothesis, one Spark query per example): the Spark sub-indices and NowCasts
equal the exact pure-Python reference on random readings and series with gaps. The worked examples
and edges of the same functions stay in unit/test_sub_index.py and unit/test_nowcast.py."""

from __future__ import annotations

import math
from datetime import timedelta
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import functions as F

from aqi_assets.transforms.aqi import aqi_reference as ref
from aqi_assets.transforms.aqi.agency import INDEX_COLUMNS, indexed_hours, with_overall_indices
from aqi_assets.transforms.aqi.breakpoints import (
    EPA_CO_8H,
    EPA_NO2_1H,
    EPA_PM10,
    VN_PM10,
    VN_PM25,
    VN_TABLES,
)
from aqi_assets.transforms.aqi.nowcast import LOOKBACK_HOURS, with_epa_nowcasts
from aqi_assets.transforms.aqi.sub_index import epa_sub_index, vn_sub_index
from aqi_assets_tests.unit.test_nowcast import PM25_2024, START, frame
from aqi_assets_tests.unit.test_sub_index import ALL_EPA, ALL_VN

POLLUTANT_FACTORS = {"pm25": 1, "pm10": 2, "o3": 3, "no2": 4, "so2": 5, "co": 100}


def reference_indices(hours: dict[int, float | None], h: int) -> dict[str, object]:
    """aqi_overall, dominant_pollutant, vn_aqi, vn_dominant_pollutant at hour h, exactly."""

    def value(p: str, hour: int) -> Fraction | None:
        v = hours.get(hour)
        return None if v is None else ref.exact(v * POLLUTANT_FACTORS[p])

    def mean(p: str, span: int) -> Fraction | None:
        return ref.trailing_mean([value(p, h - i) for i in range(span)], math.ceil(span * 0.75))

    def nowcast(p: str) -> Fraction | None:
        return ref.nowcast([value(p, h - i) for i in range(LOOKBACK_HOURS + 1)], None)

    epa = {
        "pm25": ref.epa_sub_index(mean("pm25", 24), PM25_2024),
        "pm10": ref.epa_sub_index(mean("pm10", 24), EPA_PM10),
        "o3": ref.epa_o3_sub_index(value("o3", h), mean("o3", 8)),
        "no2": ref.epa_sub_index(value("no2", h), EPA_NO2_1H),
        "so2": ref.epa_so2_sub_index(value("so2", h), mean("so2", 24)),
        "co": ref.epa_sub_index(mean("co", 8), EPA_CO_8H),
    }
    vn = {
        "pm25": ref.vn_sub_index(nowcast("pm25"), VN_PM25),
        "pm10": ref.vn_sub_index(nowcast("pm10"), VN_PM10),
        **{p: ref.vn_sub_index(value(p, h), VN_TABLES[p]) for p in ("o3", "no2", "so2", "co")},
    }

    def top(indices: dict[str, int | None]) -> tuple[int | None, str | None]:
        present = {p: i for p, i in indices.items() if i is not None}
        if not present:
            return None, None
        best = max(present.values())
        return best, next(p for p, i in present.items() if i == best)

    aqi, by = top(epa)
    vn_aqi, vn_by = top(vn) if vn["pm25"] is not None or vn["pm10"] is not None else (None, None)
    return {
        "aqi_overall": aqi,
        "dominant_pollutant": by,
        "vn_aqi": vn_aqi,
        "vn_dominant_pollutant": vn_by,
    }


readings = st.one_of(
    st.decimals(min_value=0, max_value=3000, places=1),
    st.decimals(min_value=0, max_value=200, places=5),
).map(float)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(readings, min_size=1, max_size=200))
def test_spark_sub_indices_match_the_reference(spark, values: list[float]) -> None:
    df = spark.createDataFrame([(v,) for v in values], "c double")
    columns = [epa_sub_index(F.col("c"), t).alias(f"e{i}") for i, t in enumerate(ALL_EPA)]
    columns += [vn_sub_index(F.col("c"), t).alias(f"v{i}") for i, t in enumerate(ALL_VN)]
    rows = df.select("c", *columns).collect()
    for row in rows:
        c = ref.exact(row["c"])
        assert [row[f"e{i}"] for i in range(len(ALL_EPA))] == [
            ref.epa_sub_index(c, t) for t in ALL_EPA
        ]
        assert [row[f"v{i}"] for i in range(len(ALL_VN))] == [
            ref.vn_sub_index(c, t) for t in ALL_VN
        ]


series = st.dictionaries(
    st.integers(min_value=0, max_value=40),
    st.one_of(st.none(), st.decimals(min_value=0, max_value=400, places=1).map(float)),
    min_size=1,
    max_size=41,
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(a=series, b=series)
def test_nowcast_matches_the_reference_on_series_with_gaps(spark, a, b) -> None:
    out = with_epa_nowcasts(frame(spark, {"a": a, "b": b}), PM25_2024, keep_raw=True)
    for row in out.collect():
        hours = a if row["location_key"] == "a" else b
        h = int((row["ts_utc"] - START).total_seconds() // 3600)
        latest = [ref.exact(hours.get(h - i)) for i in range(LOOKBACK_HOURS + 1)]
        exact_pm25 = ref.nowcast(latest, PM25_2024.step)
        exact_pm10 = ref.nowcast(latest, EPA_PM10.step)
        raw = ref.nowcast(latest, None)
        assert row["nowcast_pm25"] == (None if exact_pm25 is None else float(exact_pm25))
        assert row["nowcast_pm10"] == (None if exact_pm10 is None else float(exact_pm10))
        assert row["nowcast_aqi"] == ref.epa_sub_index(raw, PM25_2024)
        assert row["nowcast_pm10_aqi"] == ref.epa_sub_index(raw, EPA_PM10)
        if raw is not None:
            assert math.isclose(row["nowcast_pm25_raw"], raw, rel_tol=1e-12, abs_tol=1e-12)


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    hours=st.dictionaries(
        st.integers(min_value=0, max_value=40),
        st.one_of(st.none(), st.decimals(min_value=0, max_value=300, places=1).map(float)),
        min_size=1,
        max_size=41,
    )
)
def test_overall_indices_match_the_reference_on_series_with_gaps(spark, hours) -> None:
    rows = [
        (
            "a",
            START + timedelta(hours=h),
            *[None if v is None else v * f for f in POLLUTANT_FACTORS.values()],
        )
        for h, v in hours.items()
    ]
    schema = "location_key string, ts_utc timestamp, " + ", ".join(
        f"{p} double" for p in POLLUTANT_FACTORS
    )
    hours_df = spark.createDataFrame(rows, schema).select("*", F.lit(0).alias("date_key"))
    indexed = indexed_hours(hours_df.withColumn("time_key", F.lit(0)), PM25_2024)
    out = with_overall_indices(indexed)
    for row in out.select("ts_utc", *INDEX_COLUMNS).collect():
        h = int((row["ts_utc"] - START).total_seconds() // 3600)
        assert {c: row[c] for c in INDEX_COLUMNS} == reference_indices(hours, h)
