"""EPA and VN_AQI sub-indices: every breakpoint edge of every table, the unit conversions,
truncation without rounding, the documents' worked examples, Spark against the plain-Python
reference."""

from __future__ import annotations

from fractions import Fraction

import pytest
from pyspark.sql import functions as F

from aqi_assets.transforms.aqi import aqi_reference as ref
from aqi_assets.transforms.aqi.agency import POLLUTANTS, with_overall_indices
from aqi_assets.transforms.aqi.breakpoints import (
    EPA_CO_8H,
    EPA_NO2_1H,
    EPA_O3_1H,
    EPA_O3_8H,
    EPA_PM25,
    EPA_SO2_1H,
    EPA_SO2_24H,
    EPA_TABLES,
    UG_PER_PPB,
    VN_CO,
    VN_NO2,
    VN_O3_1H,
    VN_O3_8H,
    VN_PM10,
    VN_PM25,
    VN_SO2,
    EpaTable,
    VnTable,
)
from aqi_assets.transforms.aqi.sub_index import (
    epa_o3_sub_index,
    epa_so2_sub_index,
    epa_sub_index,
    epa_truncated,
    vn_category_column,
    vn_o3_daily_sub_index,
    vn_sub_index,
)

ALL_EPA = (*EPA_TABLES, EPA_PM25["epa_pre_2024"])
ALL_VN = (VN_O3_1H, VN_O3_8H, VN_CO, VN_SO2, VN_NO2, VN_PM10, VN_PM25)


def ug(concentration: str, table: EpaTable) -> float:
    """A concentration in the table's unit (ppm, ppb, µg/m³) as µg/m³, exactly then as a double."""
    return float(Fraction(concentration) / table.per_ug)


def spark_values(spark, values, expression) -> list:
    df = spark.createDataFrame([(v,) for v in values], "c double")
    return [r[0] for r in df.select(expression(F.col("c"))).collect()]


def epa_edges(table: EpaTable) -> list[tuple[float, int]]:
    cases = []
    for lo, hi, i_lo, i_hi in table.bands:
        # The top of a band, and just under the next step (truncated back to the top).
        below_next = str(Fraction(hi) + table.step * Fraction(999, 1000))
        cases += [(ug(lo, table), i_lo), (ug(hi, table), i_hi), (ug(below_next, table), i_hi)]
    return cases


@pytest.mark.parametrize("table", ALL_EPA, ids=lambda t: f"{t.pollutant}-{t.averaging}")
def test_epa_every_breakpoint_edge(spark, table: EpaTable) -> None:
    values, expected = zip(*epa_edges(table), strict=True)
    assert spark_values(spark, values, lambda c: epa_sub_index(c, table)) == list(expected)
    assert [ref.epa_sub_index(ref.exact(v), table) for v in values] == list(expected)


def test_epa_outside_a_table() -> None:
    # 1-hour O3 starts at AQI 101, 8-hour O3 and 1-hour SO2 stop where other tables take over.
    assert ref.epa_sub_index(ref.exact(ug("0.124", EPA_O3_1H)), EPA_O3_1H) is None
    assert ref.epa_sub_index(ref.exact(ug("0.201", EPA_O3_8H)), EPA_O3_8H) is None
    assert ref.epa_sub_index(ref.exact(ug("305", EPA_SO2_1H)), EPA_SO2_1H) is None
    assert ref.epa_sub_index(ref.exact(ug("2050", EPA_NO2_1H)), EPA_NO2_1H) == 500


def test_conversions_at_25_degrees() -> None:
    assert {
        "o3": Fraction("1.96"),
        "no2": Fraction("1.88"),
        "so2": Fraction("2.62"),
        "co": Fraction("1.145"),
    } == UG_PER_PPB
    # 4.4 ppm CO is 5038 µg/m³: exactly the top of "Good", not 4.3 ppm by a float division.
    assert ug("4.4", EPA_CO_8H) == 5038.0
    assert ref.epa_sub_index(ref.exact(5038.0), EPA_CO_8H) == 50


def test_truncation_has_no_rounding_before_it(spark) -> None:
    pm25 = EPA_PM25["epa_2024"]
    values = [9.09995, 9.0999999, 9.1, 35.49, 152.8799, 152.88]
    assert spark_values(spark, values[:4], lambda c: epa_sub_index(c, pm25)) == [50, 50, 51, 100]
    assert spark_values(spark, values[:4], lambda c: epa_truncated(c, pm25)) == [
        9.0,
        9.0,
        9.1,
        35.4,
    ]
    # 152.88 µg/m³ O3 is exactly 0.078 ppm; a hair below it is 0.077 ppm.
    assert spark_values(spark, values[4:], lambda c: epa_truncated(c, EPA_O3_8H)) == [0.077, 0.078]


def overall(indices, column: str):
    """The hour's overall index and dominant pollutant, from one row of sub-index columns (named
    by pollutant), through the production path (`with_overall_indices`)."""
    prefix = "epa_" if column == "epa_sub_index" else "vn_"
    sub_indices = [
        (F.col(p) if p in indices.columns and kind == prefix else F.lit(None))
        .cast("int")
        .alias(f"{kind}{p}")
        for kind in ("epa_", "vn_")
        for p in POLLUTANTS
    ]
    return with_overall_indices(indices.select(*sub_indices)).first()


def test_epa_tad_worked_example(spark) -> None:
    """TAD's example: 8-h O3 0.078 ppm -> 126, PM2.5 35.9 µg/m³ -> 102, 8-h CO 8.4 ppm -> 90."""
    o3 = ug("0.078", EPA_O3_8H)
    co = ug("8.4", EPA_CO_8H)
    df = spark.createDataFrame([(o3, 35.9, co)], "o3 double, pm25 double, co double")
    subs = {
        "o3": epa_sub_index(F.col("o3"), EPA_O3_8H, computed=True).alias("o3"),
        "pm25": epa_sub_index(F.col("pm25"), EPA_PM25["epa_2024"], computed=True).alias("pm25"),
        "co": epa_sub_index(F.col("co"), EPA_CO_8H, computed=True).alias("co"),
    }
    indices = df.select(*subs.values())
    assert indices.first().asDict() == {"o3": 126, "pm25": 102, "co": 90}
    hour = overall(indices, "epa_sub_index")
    assert (hour["aqi_overall"], hour["dominant_pollutant"]) == (126, "o3")


def test_o3_and_so2_combine_their_periods(spark) -> None:
    df = spark.createDataFrame(
        [
            (ug("0.150", EPA_O3_1H), ug("0.060", EPA_O3_8H), ug("20", EPA_SO2_1H), None),
            (ug("0.050", EPA_O3_1H), ug("0.060", EPA_O3_8H), ug("400", EPA_SO2_1H), 0.0),
            (None, None, ug("400", EPA_SO2_1H), ug("700", EPA_SO2_24H)),
        ],
        "o3 double, o3_8h double, so2 double, so2_24h double",
    )
    got = df.select(
        epa_o3_sub_index(F.col("o3"), F.col("o3_8h")).alias("o3"),
        epa_so2_sub_index(F.col("so2"), F.col("so2_24h")).alias("so2"),
    ).collect()
    assert [tuple(r) for r in got] == [(132, 29), (67, 200), (None, 348)]
    assert ref.epa_o3_sub_index(ref.exact(ug("0.150", EPA_O3_1H)), None) == 132
    assert ref.epa_so2_sub_index(ref.exact(ug("400", EPA_SO2_1H)), Fraction(0)) == 200


@pytest.mark.parametrize("table", ALL_VN, ids=lambda t: f"{t.pollutant}-{t.averaging}")
def test_vn_every_level(spark, table: VnTable) -> None:
    levels = [float(level) for level in table.levels]
    expected = [0, 50, 100, 150, 200, 300, 400, 500][: len(levels)]
    assert spark_values(spark, levels, lambda c: vn_sub_index(c, table)) == expected
    above = levels[-1] + 1
    assert ref.vn_sub_index(Fraction(above), table) == (500 if table.open_top else None)


def test_vn_decision_hourly_example(spark) -> None:
    """Decision 1459 §2.3 b: O3 136.1, NO2 118.7, NowCast PM2.5 20.3 µg/m³.

    The Decision prints AQI(NO2) = 60 and AQI^h = 60, but its own formula gives
    50/100 * 18.7 + 50 = 59.35, which rounds to 59 (its other five examples round half up).
    """
    df = spark.createDataFrame([(136.1, 118.7, 20.3)], "o3 double, no2 double, pm25 double")
    subs = {
        "o3": vn_sub_index(F.col("o3"), VN_O3_1H).alias("o3"),
        "no2": vn_sub_index(F.col("no2"), VN_NO2).alias("no2"),
        "pm25": vn_sub_index(F.col("pm25"), VN_PM25, computed=True).alias("pm25"),
    }
    indices = df.select(*subs.values())
    assert indices.first().asDict() == {"o3": 43, "no2": 59, "pm25": 41}
    hour = overall(indices, "vn_sub_index")
    assert (hour["vn_aqi"], hour["vn_dominant_pollutant"]) == (59, "no2")
    band = indices.select(vn_category_column(F.lit(hour["vn_aqi"])).alias("band")).first()
    assert band["band"] == "Moderate"


def test_vn_decision_daily_example(spark) -> None:
    """Decision 1459 §2.3 c: max 8-h O3 89.3, max 1-h O3 114.6, max 1-h NO2 130.8, PM2.5 55.7."""
    df = spark.createDataFrame(
        [(89.3, 114.6, 130.8, 55.7)], "o3_8h double, o3_1h double, no2 double, pm25 double"
    )
    row = df.select(
        vn_sub_index(F.col("o3_8h"), VN_O3_8H, computed=True).alias("o3_8h"),
        vn_sub_index(F.col("o3_1h"), VN_O3_1H).alias("o3_1h"),
        vn_o3_daily_sub_index(F.col("o3_1h"), F.col("o3_8h")).alias("o3"),
        vn_sub_index(F.col("no2"), VN_NO2).alias("no2"),
        vn_sub_index(F.col("pm25"), VN_PM25, computed=True).alias("pm25"),
    ).first()
    assert row.asDict() == {"o3_8h": 45, "o3_1h": 36, "o3": 45, "no2": 65, "pm25": 110}
    assert max(row["o3"], row["no2"], row["pm25"]) == 110


def test_vn_o3_8h_not_used_above_400(spark) -> None:
    df = spark.createDataFrame([(500.0, 401.0)], "o3_1h double, o3_8h double")
    got = df.select(vn_o3_daily_sub_index(F.col("o3_1h"), F.col("o3_8h"))).first()[0]
    assert got == ref.vn_sub_index(Fraction(500), VN_O3_1H) == 225
