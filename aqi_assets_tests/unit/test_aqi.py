"""AQI from PM2.5 (SPEC §5): every breakpoint edge of both tables, truncation, caps, nulls."""

from __future__ import annotations

import math

import pytest
from pyspark.sql import functions as F

from aqi_assets.transforms.aqi.epa_pm25 import (
    AqiTable,
    aqi_category_column,
    aqi_column,
    aqi_from_pm25,
)

EDGES_2024 = [
    (0.0, 0),
    (9.0, 50),
    (9.1, 51),
    (35.4, 100),
    (35.5, 101),
    (55.4, 150),
    (55.5, 151),
    (125.4, 200),
    (125.5, 201),
    (225.4, 300),
    (225.5, 301),
    (325.4, 500),
    (325.5, 500),
    (900.0, 500),
]
EDGES_PRE_2024 = [
    (0.0, 0),
    (12.0, 50),
    (12.1, 51),
    (35.4, 100),
    (35.5, 101),
    (55.4, 150),
    (55.5, 151),
    (150.4, 200),
    (150.5, 201),
    (250.4, 300),
    (250.5, 301),
    (350.4, 400),
    (350.5, 401),
    (500.4, 500),
    (500.5, 500),
]
TRUNCATION = [(35.49, 100), (9.09, 50), (9.19, 51), (55.49, 150), (64.1, 157), (12.05, 56)]


def spark_aqi(spark, values, table):
    df = spark.createDataFrame([(v,) for v in values], "pm25 double")
    return [r["aqi"] for r in df.select(aqi_column(F.col("pm25"), table).alias("aqi")).collect()]


@pytest.mark.parametrize(
    ("table", "cases"), [(AqiTable.EPA_2024, EDGES_2024), (AqiTable.EPA_PRE_2024, EDGES_PRE_2024)]
)
def test_breakpoint_edges(spark, table, cases) -> None:
    values, expected = zip(*cases, strict=True)
    assert spark_aqi(spark, values, table) == list(expected)
    assert [aqi_from_pm25(v, table) for v in values] == list(expected)


def test_truncation_to_one_decimal(spark) -> None:
    values, expected = zip(*TRUNCATION, strict=True)
    assert spark_aqi(spark, values, AqiTable.EPA_2024) == list(expected)
    assert spark_aqi(spark, [35.4], AqiTable.EPA_2024) == spark_aqi(
        spark, [35.49], AqiTable.EPA_2024
    )


def test_null_nan_and_negative_give_null_never_zero(spark) -> None:
    assert spark_aqi(spark, [None, math.nan, -1.0], AqiTable.EPA_2024) == [None, None, None]
    assert aqi_from_pm25(None) is None
    assert aqi_from_pm25(math.nan) is None


def test_spark_and_python_agree_on_a_spread(spark) -> None:
    values = [round(0.37 * i, 2) for i in range(0, 1500)]
    for table in AqiTable:
        assert spark_aqi(spark, values, table) == [aqi_from_pm25(v, table) for v in values]


def test_categories(spark) -> None:
    cases = [
        (0, "Good"),
        (50, "Good"),
        (51, "Moderate"),
        (100, "Moderate"),
        (101, "Unhealthy for Sensitive Groups"),
        (150, "Unhealthy for Sensitive Groups"),
        (151, "Unhealthy"),
        (200, "Unhealthy"),
        (201, "Very Unhealthy"),
        (300, "Very Unhealthy"),
        (301, "Hazardous"),
        (500, "Hazardous"),
        (None, None),
    ]
    df = spark.createDataFrame([(a,) for a, _ in cases], "aqi int")
    got = [r[0] for r in df.select(aqi_category_column(F.col("aqi"))).collect()]
    assert got == [c for _, c in cases]


def test_no_rounding_before_truncation(spark) -> None:
    """9.09995 µg/m³ is 9.0 truncated (AQI 50); a decimal(14,4) cast used to make it 9.1 (51)."""
    values = [9.09995, 9.09999999, 35.49999, 12.09996]
    assert spark_aqi(spark, values, AqiTable.EPA_2024) == [50, 50, 100, 56]
    assert spark_aqi(spark, values[3:], AqiTable.EPA_PRE_2024) == [50]
    assert [aqi_from_pm25(v) for v in values] == [50, 50, 100, 56]
