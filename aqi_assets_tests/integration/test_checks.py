"""Quality gates: each blocking check fails on a violating fixture, names the offending keys, and
keeps the table at its previous snapshot; downstream does not run."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import pytest
from pyspark.sql import functions as F

from aqi_assets.catalog.registry import (
    DIM_LOCATION,
    FACT_CITY_DAILY,
    FACT_EPISODE,
    FACT_HOURLY,
    FACT_POLLUTANT_HOURLY,
    HOUR_KEYS,
    SILVER_HOURLY,
    Check,
    TableSpec,
)
from aqi_assets.catalog.table_spec import CheckDeclarationError
from aqi_assets.config.pipeline_config import PipelineConfig
from aqi_assets.quality import blocking_checks, warning_checks
from aqi_assets.quality.declared_checks import CheckInputs
from aqi_assets.quality.publish import Audit, publish_window, quality_score
from aqi_assets.transforms.aqi.epa_pm25 import AqiTable
from aqi_assets_tests.materialize import materialize_range, materialize_reference

HOURLY = "location_key string, ts_utc timestamp, date_key int, time_key int, pm25 double, aqi int"
T = datetime(2024, 1, 1, 5)


def evaluate(check: blocking_checks.FrameCheck, frame, table: TableSpec = SILVER_HOURLY):
    keys = ("location_key", "ts_utc", "date_key")
    return blocking_checks.evaluate_frame_checks(table, [check], frame, keys)[0]


def examples(result) -> list[dict]:
    return result.metadata["examples"].value


def test_unique_key_names_the_duplicate(spark) -> None:
    frame = spark.createDataFrame([("hanoi", T, 20240101, 5, 10.0, 52)] * 2, HOURLY)
    result = evaluate(blocking_checks.unique("location_key", "ts_utc"), frame)
    assert not result.passed
    assert result.metadata["offending_rows"].value == 1
    assert examples(result) == [{"location_key": "hanoi", "ts_utc": T.isoformat(), "duplicates": 2}]


@pytest.mark.parametrize("duplicated", [False, True])
def test_unique_rows_per_pollutant_counted_on_the_hours(spark, duplicated: bool) -> None:
    """The per-pollutant rows' uniqueness, counted on the hours they come from, reports what
    the check on the rows themselves reports: the same verdict, count and examples."""
    hours = [("hanoi", T, 20240101, 5, 10.0, 52), ("hcmc", T, 20240101, 5, 10.0, 52)]
    frame = spark.createDataFrame(hours + hours[:1] * duplicated, HOURLY)
    pollutants = F.array(*[F.lit(p) for p in ("pm25", "pm10", "o3")])
    rows = frame.select("location_key", "ts_utc", F.explode(pollutants).alias("pollutant_key"))
    keys = FACT_POLLUTANT_HOURLY.keys
    general = evaluate(blocking_checks.unique(*keys), rows, FACT_POLLUTANT_HOURLY)
    cheap = blocking_checks.unique_expanded(frame, HOUR_KEYS, "pollutant_key", per_row=3)
    found = evaluate(cheap, rows, FACT_POLLUTANT_HOURLY)
    assert found.passed is general.passed is not duplicated
    assert found.metadata["offending_rows"].value == general.metadata["offending_rows"].value
    assert found.metadata["offending_rows"].value == 3 * duplicated
    if duplicated:
        assert sorted(examples(found), key=str) == sorted(examples(general), key=str)


def test_null_keys(spark) -> None:
    frame = spark.createDataFrame(
        [("hanoi", T, None, 5, 10.0, 52), ("hcmc", T, 20240101, 5, 10.0, 52)], HOURLY
    )
    result = evaluate(
        blocking_checks.not_null("location_key", "ts_utc", "date_key", "time_key"), frame
    )
    assert not result.passed
    assert [e["location_key"] for e in examples(result)] == ["hanoi"]


def test_checks_evaluated_together_report_each_its_own_rows(spark) -> None:
    frame = spark.createDataFrame(
        [("hanoi", T, 20240101, 5, 10.0, 52)] * 2 + [("hcmc", T, None, 5, 10.0, 52)], HOURLY
    )
    found = blocking_checks.evaluate_frame_checks(
        SILVER_HOURLY,
        [
            blocking_checks.unique("location_key", "ts_utc"),
            blocking_checks.not_null("location_key", "date_key"),
            blocking_checks.value_ranges(),
        ],
        frame,
        ("location_key", "ts_utc", "date_key"),
    )
    assert [(r.check_name, r.passed) for r in found] == [
        (Check.UNIQUE.value, False),
        (Check.NO_NULL_KEYS.value, False),
        (Check.VALUE_RANGES.value, True),
    ]
    assert [r.metadata["offending_rows"].value for r in found] == [1, 1, 0]
    assert examples(found[1]) == [
        {"location_key": "hcmc", "ts_utc": T.isoformat(), "date_key": None}
    ]
    assert "examples" not in found[2].metadata


def test_value_ranges(spark) -> None:
    frame = spark.createDataFrame(
        [("hanoi", T, 20240101, 5, -3.0, None), ("hcmc", T, 20240101, 5, 10.0, 52)], HOURLY
    )
    result = evaluate(blocking_checks.value_ranges(), frame)
    assert not result.passed
    assert examples(result)[0]["reason"] == "pm25 outside [0.0, 1500.0]"


def test_aqi_consistent_with_pm25(spark) -> None:
    frame = spark.createDataFrame(
        [
            ("hanoi", T, 20240101, 5, 35.49, 101),
            ("hcmc", T, 20240101, 5, 35.49, 100),
            ("danang", T, 20240101, 5, None, None),
        ],
        HOURLY,
    )
    result = evaluate(blocking_checks.aqi_matches_pm25(AqiTable.EPA_2024), frame)
    assert not result.passed
    assert examples(result) == [
        {
            "location_key": "hanoi",
            "ts_utc": T.isoformat(),
            "date_key": 20240101,
            "reason": "aqi should be 100",
        }
    ]


def test_dimension_membership(spark) -> None:
    frame = spark.createDataFrame(
        [("hanoi", T, 20240101, 5, 1.0, 4), ("paris", T, 20240101, 5, 1.0, 4)], HOURLY
    )
    dims = spark.createDataFrame([("hanoi",)], "location_key string")
    result = evaluate(
        blocking_checks.in_dimension(Check.LOCATION_FK, "location_key", dims), frame, FACT_HOURLY
    )
    assert not result.passed
    assert [e["location_key"] for e in examples(result)] == ["paris"]


def test_completeness_names_missing_location_days(spark) -> None:
    rows = [("hanoi", datetime(2024, 1, 1, h), 20240101, h, 1.0, 4) for h in range(24)]
    rows += [("hcmc", datetime(2024, 1, 1, h), 20240101, h, 1.0, 4) for h in range(20)]
    frame = spark.createDataFrame(rows, HOURLY)
    result = warning_checks.completeness(
        SILVER_HOURLY,
        frame,
        ["hanoi", "hcmc"],
        date(2024, 1, 1),
        date(2024, 1, 3),
        date(2024, 1, 2),
    )
    assert not result.passed
    assert result.metadata["missing_hours"].value == 4
    assert examples(result) == [{"location_key": "hcmc", "day": "2024-01-01", "hours": 20}]
    today_only = warning_checks.completeness(
        SILVER_HOURLY,
        frame.limit(0),
        ["hanoi"],
        date(2024, 1, 2),
        date(2024, 1, 3),
        date(2024, 1, 2),
    )
    assert today_only.passed, "an open day is never incomplete"


@pytest.fixture
def built(lakehouse_assets, pipeline_resources):
    materialize_reference(lakehouse_assets, pipeline_resources)
    result = materialize_range(
        lakehouse_assets, date(2024, 1, 1), date(2024, 1, 2), pipeline_resources
    )
    assert result.success
    return result


def test_clean_range_passes_every_check(built) -> None:
    evaluations = built.get_asset_check_evaluations()
    assert {e.asset_key.to_user_string() for e in evaluations} >= {
        SILVER_HOURLY.asset,
        FACT_HOURLY.asset,
        FACT_CITY_DAILY.asset,
        FACT_EPISODE.asset,
    }
    assert [(e.asset_key.to_user_string(), e.check_name) for e in evaluations if not e.passed] == []
    silver = {
        m.asset_key.to_user_string(): m for m in built.asset_materializations_for_node("silver")
    }
    assert silver[SILVER_HOURLY.asset].metadata["quality_score"].value == 100.0


def test_unknown_location_in_gold_is_blocked_and_gold_keeps_its_snapshot(
    built, lakehouse_assets, pipeline_resources, tmp_path: Path
) -> None:
    reader = pipeline_resources["lakehouse"]
    before = {
        t: reader.current_snapshot_id("gold", t)
        for t in (FACT_HOURLY.iceberg_name, FACT_CITY_DAILY.asset)
    }
    two_cities = tmp_path / "locations.json"
    two_cities.write_text(
        json.dumps(
            [
                {
                    "location_key": "hanoi",
                    "location_name": "Ha Noi",
                    "latitude": 21.0285,
                    "longitude": 105.8542,
                    "time_zone": "Asia/Ho_Chi_Minh",
                },
                {
                    "location_key": "danang",
                    "location_name": "Da Nang",
                    "latitude": 16.0544,
                    "longitude": 108.2022,
                    "time_zone": "Asia/Ho_Chi_Minh",
                },
            ]
        )
    )
    resources = {**pipeline_resources, "pipeline": PipelineConfig(locations_path=str(two_cities))}
    materialize_reference(lakehouse_assets, resources)
    result = materialize_range(
        lakehouse_assets,
        date(2024, 1, 1),
        date(2024, 1, 2),
        resources,
        [FACT_HOURLY.asset, FACT_CITY_DAILY.asset],
        raise_on_error=False,
    )
    assert not result.success
    failed = {e.check_name: e for e in result.get_asset_check_evaluations() if not e.passed}
    assert set(failed) == {Check.LOCATION_FK}
    offending = failed[Check.LOCATION_FK].metadata
    assert offending["offending_rows"].value == 48
    assert {e["location_key"] for e in offending["examples"].value} == {"hcmc"}
    assert not result.asset_materializations_for_node(FACT_CITY_DAILY.asset), (
        "downstream did not run"
    )
    after = {t: reader.current_snapshot_id("gold", t) for t in before}
    assert after == before


def test_daily_hours_out_of_sync_with_silver_is_blocked(
    built, lakehouse_assets, pipeline_resources, spark
) -> None:
    reader = pipeline_resources["lakehouse"]
    before = reader.current_snapshot_id(*FACT_CITY_DAILY.table)
    silver = pipeline_resources["spark"].table(*SILVER_HOURLY.table)
    spark.sql(
        f"DELETE FROM {silver} WHERE location_key = 'danang' "
        "AND ts_utc = TIMESTAMP'2024-01-02 07:00:00'"
    )
    result = materialize_range(
        lakehouse_assets,
        date(2024, 1, 2),
        date(2024, 1, 2),
        pipeline_resources,
        FACT_CITY_DAILY.asset,
        raise_on_error=False,
    )
    assert not result.success
    [failed] = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert failed.check_name == Check.TOTAL_HOURS
    assert failed.metadata["examples"].value == [
        {"location_key": "danang", "date_key": 20240102, "reason": "total_hours 24 != silver 23"}
    ]
    assert reader.current_snapshot_id(*FACT_CITY_DAILY.table) == before


def test_quality_score_is_the_share_of_checks_passed() -> None:
    def outcome(name: Check, passed: bool) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(asset_key=SILVER_HOURLY.key, check_name=name, passed=passed)

    results = [
        outcome(Check.UNIQUE, True),
        outcome(Check.NO_NULL_KEYS, True),
        outcome(Check.COMPLETENESS, False),
        outcome(Check.REJECT_RATIO, True),
    ]
    assert quality_score(results) == 75.0
    assert quality_score(results[:2]) == 100.0


EPISODES = "episode_id string, location_key string, start_ts timestamp, end_ts timestamp"


def episodes(spark, location: str):
    start = datetime(2024, 1, 1, 5)
    return spark.createDataFrame([("e1", location, start, start)], EPISODES).withColumn(
        "start_date", F.to_date("start_ts")
    )


def test_an_asset_runs_exactly_the_checks_its_table_declares(spark_resource) -> None:
    """The published checks are the registry's, in its order, with no list of the asset's."""
    session = spark_resource.spark_session
    dims = session.createDataFrame([("hanoi",)], "location_key string")
    inputs = CheckInputs(dimension=lambda table: dims if table == DIM_LOCATION else None)
    result = publish_window(
        spark_resource,
        FACT_EPISODE,
        episodes(session, "hanoi"),
        date(2024, 1, 1),
        date(2024, 1, 2),
        audit=Audit(inputs),
    )
    assert [r.check_name for r in result.check_results] == [d.name for d in FACT_EPISODE.checks]
    assert all(r.passed for r in result.check_results)


def test_a_declared_check_the_run_cannot_evaluate_stops_it_before_the_commit(
    spark_resource,
) -> None:
    """Publishing without the dimension the declared foreign-key check reads writes nothing."""
    session = spark_resource.spark_session
    with pytest.raises(CheckDeclarationError, match=Check.LOCATION_FK.value) as refused:
        publish_window(
            spark_resource,
            FACT_EPISODE,
            episodes(session, "hanoi"),
            date(2024, 1, 1),
            date(2024, 1, 2),
        )
    assert FACT_EPISODE.asset in str(refused.value)
    assert not session.catalog.tableExists(spark_resource.table(*FACT_EPISODE.table))
