"""The pollutant catalogue: every part reads it, it agrees with the breakpoint tables and the
SPEC, and adding a pollutant is one entry (plus its tables when it has an index)."""

from __future__ import annotations

import json
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest

from aqi_assets.catalog.pollutants import (
    CATALOGUE,
    REQUESTED_VARIABLES,
    SUB_INDEX_POLLUTANTS,
    UG,
    Averaging,
    PollutantEntry,
    cross_check_columns,
    dimension_entries,
    entry,
    measured_columns,
    molar_factors,
    requested_variables,
    sub_index_pollutants,
    value_ranges,
    variable_names,
)
from aqi_assets.config.profiles import resources_for
from aqi_assets.config.reference import ReferenceDataError, load_pollutants
from aqi_assets.config.settings import load_settings
from aqi_assets.dev.local_open_meteo import UNITS
from aqi_assets.transforms import silver_rows
from aqi_assets.transforms.aqi import agency
from aqi_assets.transforms.aqi import aqi_reference as ref
from aqi_assets.transforms.aqi.breakpoints import (
    EPA_PM25,
    EPA_TABLES,
    UG_PER_PPB,
    VN_ALL_TABLES,
    EpaTable,
    VnTable,
    epa_tables,
    vn_particles,
    vn_tables,
)
from aqi_assets.transforms.bronze_rows import API_VARIABLES
from aqi_assets_tests.open_meteo_client import open_meteo_client
from resources.open_meteo.api_limits import request_weight

ROOT = Path(__file__).resolve().parents[2]

H1, H8, H24 = Averaging.HOUR_1, Averaging.HOUR_8, Averaging.HOUR_24
# Open-Meteo's ammonia (Europe only): no agency indexes it, so it is one entry and no table.
AMMONIA = PollutantEntry(
    "nh3", "Ammonia", UG, "Ammonia (NH3), mostly from agriculture",
    variable="ammonia", valid_range=(0.0, 2000.0), ug_per_ppb=Fraction("0.697"),
)  # fmt: skip


def test_the_profile_and_the_tests_request_the_catalogue(tmp_path: Path) -> None:
    """resources/ never imports the catalogue and keeps no copy: the profile passes it."""
    assert open_meteo_client("http://127.0.0.1:9").hourly_variables == list(REQUESTED_VARIABLES)
    profile = resources_for(load_settings({"DAGSTER_HOME": str(tmp_path)}))
    assert profile["open_meteo"].hourly_variables == list(REQUESTED_VARIABLES)
    # No second copy to keep in step: no product module outside the catalogue names them all
    # (the local server models known variables one by one, and serves new ones generically).
    copies = [
        path.relative_to(ROOT).as_posix()
        for folder in ("resources", "aqi_assets")
        for path in (ROOT / folder).rglob("*.py")
        if path.name not in ("pollutants.py", "local_open_meteo.py")
        and all(f'"{v}"' in path.read_text() for v in REQUESTED_VARIABLES)
    ]
    assert copies == []


def test_every_part_reads_the_catalogue() -> None:
    assert measured_columns() == silver_rows.POLLUTANT_COLUMNS
    assert value_ranges() == silver_rows.VALUE_RANGES
    assert silver_rows.CROSS_CHECK_COLUMNS == ("us_aqi", "us_aqi_pm2_5") == cross_check_columns()
    assert API_VARIABLES == variable_names() == REQUESTED_VARIABLES
    assert agency.POLLUTANTS == SUB_INDEX_POLLUTANTS == ("pm25", "pm10", "o3", "no2", "so2", "co")
    assert list(UNITS) == list(variable_names()), "the local server serves every variable"
    assert [p.key for p in load_pollutants()] == [e.key for e in dimension_entries()]
    assert [p.key for p in load_pollutants()][-1] == "aqi"
    assert vn_particles() == ("pm25", "pm10")


def test_a_pollutants_file_is_checked_against_the_catalogue(tmp_path: Path) -> None:
    rows = [
        {"pollutant_key": p.key, "pollutant_name": p.name.upper(), "unit": p.unit}
        for p in load_pollutants()
    ]
    renamed = tmp_path / "pollutants.json"
    renamed.write_text(json.dumps(rows))
    assert next(p.name for p in load_pollutants(renamed)) == "PM2.5"
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps([*rows, {"pollutant_key": "radon", "pollutant_name": "Rn"}]))
    with pytest.raises(ReferenceDataError, match=r"\['radon'\] are not in the pollutant catalogue"):
        load_pollutants(unknown)
    missing = tmp_path / "missing.json"
    missing.write_text(json.dumps(rows[1:]))
    with pytest.raises(ReferenceDataError, match=r"\['pm25'\] are missing"):
        load_pollutants(missing)


def test_the_catalogue_agrees_with_the_breakpoint_tables() -> None:
    every_table: list[EpaTable | VnTable] = [*EPA_TABLES, *EPA_PM25.values(), *VN_ALL_TABLES]
    for table in every_table:
        pollutant = entry(table.pollutant)
        periods = pollutant.epa_averaging if isinstance(table, EpaTable) else pollutant.vn_averaging
        assert table.averaging in periods, f"{table} is not in its catalogue entry"
    for p in SUB_INDEX_POLLUTANTS:
        assert {t.averaging for t in epa_tables(p)} == set(entry(p).epa_averaging)
        assert {t.averaging for t in vn_tables(p)} == set(entry(p).vn_averaging)
    assert molar_factors() == UG_PER_PPB
    for table in EPA_TABLES:
        per_ppb = {"ppb": 1, "ppm": Fraction(1, 1000)}.get(table.unit)
        if per_ppb is None:
            assert table.per_ug == 1
            assert entry(table.pollutant).ug_per_ppb is None
        else:
            assert table.per_ug == per_ppb / entry(table.pollutant).ug_per_ppb


def test_the_catalogue_agrees_with_the_spec() -> None:
    """SPEC §9: conversions at 25 °C and each pollutant's EPA averaging periods; §4: the
    pollutant columns of fact_air_quality_hourly are dim_pollutant's rows."""
    assert molar_factors() == {
        "o3": Fraction("1.96"),
        "no2": Fraction("1.88"),
        "so2": Fraction("2.62"),
        "co": Fraction("1.145"),
    }
    spec_periods = {"pm25": {H24}, "pm10": {H24}, "o3": {H8, H1}, "co": {H8}, "so2": {H1}}
    for p, periods in {**spec_periods, "no2": {H1}}.items():
        assert periods <= set(entry(p).epa_averaging)
    # The reported period (fact_pollutant_hourly's) is the SPEC's first.
    assert [entry(p).epa_averaging[0] for p in ("o3", "so2")] == [H8, H1]
    fact_hourly = ["pm25", "pm10", "o3", "no2", "so2", "co", "aqi", "aod", "dust", "uv_index"]
    assert sorted(fact_hourly) == sorted(e.key for e in dimension_entries())


def test_adding_ammonia_is_one_catalogue_entry() -> None:
    extended = (*CATALOGUE, AMMONIA)
    assert requested_variables(extended) == (*REQUESTED_VARIABLES, "ammonia")
    one_location_day = request_weight(1, len(REQUESTED_VARIABLES), 1)
    assert one_location_day == pytest.approx(len(REQUESTED_VARIABLES) / 10)
    assert request_weight(1, len(requested_variables(extended)), 1) == pytest.approx(
        one_location_day + 0.1
    )
    assert measured_columns(extended) == {**measured_columns(), "ammonia": "nh3"}
    assert value_ranges(extended) == {**value_ranges(), "nh3": (0.0, 2000.0)}
    assert dimension_entries(extended) == (*dimension_entries(), AMMONIA)
    assert molar_factors(extended)["nh3"] == Fraction("0.697")
    # No agency table: no sub-index, the indexed pollutants are unchanged.
    assert sub_index_pollutants(extended) == SUB_INDEX_POLLUTANTS


def test_a_pollutant_with_an_index_is_its_entry_plus_its_tables() -> None:
    """ILLUSTRATIVE bands (no agency indexes ammonia): the lookups pick its tables up."""
    indexed = replace(AMMONIA, epa_averaging=(H1,), vn_averaging=(H1,))
    extended = (*CATALOGUE, indexed)
    epa = EpaTable("nh3", H1, "ppb", Fraction(1), 1 / indexed.ug_per_ppb, (("0", "100", 0, 50),))
    vn = VnTable("nh3", H1, (0, 200, 400))
    assert sub_index_pollutants(extended) == (*SUB_INDEX_POLLUTANTS, "nh3")
    assert epa_tables("nh3", catalogue=extended, tables=(*EPA_TABLES, epa)) == (epa,)
    assert vn_tables("nh3", catalogue=extended, tables=(*VN_ALL_TABLES, vn)) == (vn,)
    assert ref.epa_sub_index(ref.exact(69.7), epa) == 50  # 100 ppb
    assert ref.vn_sub_index(ref.exact(300.0), vn) == 75


def test_the_generic_sub_indices_equal_the_exact_reference(spark) -> None:
    """Spark's `epa_index` / `vn_index` of every catalogue pollutant, from its entry, against
    `aqi_reference.epa_index` (SO2 above 304 ppb falls to its 24-hour mean)."""
    rows = [
        # pm25, pm25_24h, pm10, pm10_24h, o3, o3_8h, no2, so2, so2_24h, co, co_8h, raw pm25/pm10
        (12.3, 40.1, 30.0, 160.0, 150.0, 110.0, 90.0, 40.0, 30.0, 900.0, 6000.0, 41.7, 155.0),
        (5.0, 9.1, 8.0, 20.0, 300.0, 160.0, 500.0, 900.0, 850.0, 3000.0, 12000.0, 9.2, 21.0),
        (80.0, 130.0, 400.0, 430.0, 40.0, 20.0, 10.0, 5.0, 4.0, 100.0, 120.0, 131.0, 431.0),
    ]
    columns = [
        "pm25",
        "pm25_24h",
        "pm10",
        "pm10_24h",
        "o3",
        "o3_8h",
        "no2",
        "so2",
        "so2_24h",
        "co",
        "co_8h",
    ]
    raw = ["nowcast_pm25_raw", "nowcast_pm10_raw"]
    df = spark.createDataFrame(rows, ", ".join(f"{c} double" for c in [*columns, *raw]))
    pm25 = EPA_PM25["epa_2024"]
    got = df.select(
        *[agency.epa_index(p, pm25).alias(f"epa_{p}") for p in SUB_INDEX_POLLUTANTS],
        *[agency.vn_index(p).alias(f"vn_{p}") for p in SUB_INDEX_POLLUTANTS],
    ).collect()
    for row, values in zip(got, rows, strict=True):
        named = dict(zip([*columns, *raw], values, strict=True))
        for p in SUB_INDEX_POLLUTANTS:
            averages = {
                a: ref.exact(named[agency.average_column(p, a)]) for a in entry(p).averaging_periods
            }
            assert row[f"epa_{p}"] == ref.epa_index(p, averages, pm25), p
            hourly = vn_tables(p)[0]
            value = named[p if hourly.averaging is H1 else f"nowcast_{p}_raw"]
            assert row[f"vn_{p}"] == ref.vn_sub_index(ref.exact(value), hourly), p
