"""Each check is declared once, in the registry: assets run exactly what it declares, and any
disagreement is refused before a commit, naming the asset and the check."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from aqi_assets.catalog.registry import (
    FACT_AQI_FORECAST,
    FACT_EPISODE,
    FACT_HOURLY,
    FACT_POLLUTANT_HOURLY,
    SILVER_HOURLY,
    TABLES,
)
from aqi_assets.catalog.table_spec import Check, CheckDecl, CheckDeclarationError
from aqi_assets.quality.blocking_checks import FrameCheck
from aqi_assets.quality.declared_checks import (
    BLOCKING,
    WARNINGS,
    CheckInputs,
    plan_checks,
    validate_declarations,
)
from aqi_assets.quality.publish import publish_table
from aqi_assets.transforms.aqi.epa_pm25 import AqiTable

DAY, NEXT = date(2024, 1, 1), date(2024, 1, 2)


def no_rows(_):
    raise AssertionError("a refused plan reads nothing")


def test_an_undeclared_check_is_named_instead_of_stopping_an_iterator() -> None:
    with pytest.raises(
        CheckDeclarationError, match=f"{FACT_EPISODE.asset} has no check 'row_count_drop'"
    ):
        FACT_EPISODE.declared(Check.ROW_COUNT_DROP)
    assert FACT_EPISODE.declared(Check.UNIQUE).columns == FACT_EPISODE.keys


def test_every_check_has_one_implementation_and_the_registry_fits_them() -> None:
    assert set(BLOCKING) | set(WARNINGS) == set(Check)
    assert not set(BLOCKING) & set(WARNINGS)
    validate_declarations(TABLES)
    for table in TABLES:
        for decl in table.checks:
            assert decl.blocking == (decl.name in BLOCKING), (table.asset, decl.name)


def test_a_declaration_no_implementation_fits_is_refused_at_definition_load() -> None:
    wrong = dataclasses.replace(
        FACT_HOURLY,
        checks=(
            CheckDecl(Check.ROW_COUNT_DROP, "evaluated after the commit, declared blocking"),
            CheckDecl(Check.UNIQUE, "without its columns"),
            CheckDecl(Check.VALUE_RANGES, "twice"),
            CheckDecl(Check.VALUE_RANGES, "twice"),
        ),
    )
    with pytest.raises(CheckDeclarationError) as refused:
        validate_declarations([wrong])
    message = str(refused.value)
    where = f"{FACT_HOURLY.asset} declares"
    assert f"{where} 'row_count_drop' blocking" in message
    assert f"{where} 'unique_key' without the columns" in message
    assert f"{where} 'value_ranges' more than once" in message


def test_a_declared_check_without_its_input_is_refused_before_any_work() -> None:
    with pytest.raises(CheckDeclarationError) as refused:
        plan_checks(SILVER_HOURLY, CheckInputs(aqi_table=AqiTable.EPA_2024), DAY, NEXT)
    message = str(refused.value)
    for check, need in [
        (Check.COMPLETENESS, "locations"),
        (Check.REJECT_RATIO, "rows_in"),
        (Check.OPEN_METEO_AGREEMENT, "recomputed"),
    ]:
        assert f"{SILVER_HOURLY.asset} declares '{check.value}', which reads `{need}`" in message
    assert "aqi_table" not in message


def test_an_input_no_declared_check_reads_is_refused() -> None:
    """An asset passing what a check the registry lacks would read: that check is not run."""
    inputs = CheckInputs(dimension=no_rows, aqi_table=AqiTable.EPA_2024)
    with pytest.raises(CheckDeclarationError, match=f"{FACT_EPISODE.asset} passes `aqi_table`"):
        plan_checks(FACT_EPISODE, inputs, DAY, NEXT)


def test_a_faster_implementation_must_be_of_a_declared_blocking_check_of_the_same_name() -> None:
    total_hours = FrameCheck(Check.TOTAL_HOURS, lambda df: df)
    inputs = CheckInputs(dimension=no_rows, faster={Check.TOTAL_HOURS: total_hours})
    with pytest.raises(
        CheckDeclarationError, match=f"{FACT_HOURLY.asset} runs 'total_hours_match_silver'"
    ):
        plan_checks(FACT_HOURLY, inputs, DAY, NEXT)
    renamed = CheckInputs(
        dimension=no_rows, faster={Check.UNIQUE: FrameCheck(Check.NO_NULL_KEYS, lambda df: df)}
    )
    with pytest.raises(CheckDeclarationError, match=r"replaces 'unique_key' by 'no_null_keys'"):
        plan_checks(FACT_POLLUTANT_HOURLY, renamed, DAY, NEXT)


def test_a_table_with_checks_is_not_published_without_them() -> None:
    checked = dataclasses.replace(FACT_AQI_FORECAST, checks=FACT_HOURLY.checks)
    with pytest.raises(CheckDeclarationError, match=f"{FACT_AQI_FORECAST.asset} declares checks"):
        publish_table(None, checked, None)  # refused before touching Spark
