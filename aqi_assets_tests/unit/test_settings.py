"""Settings and reference data: defaults work, bad configuration says what is wrong in one line."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from aqi_assets.config.profiles import spark_resource
from aqi_assets.config.reference import ReferenceDataError, load_locations, load_pollutants
from aqi_assets.config.settings import (
    Profile,
    SettingsError,
    check_warehouse_writable,
    load_settings,
)
from resources.spark.spark_conf import build_spark_conf


def test_defaults_are_the_embedded_local_setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AQI_HOME", str(tmp_path))
    settings = load_settings({})
    assert settings.profile is Profile.LOCAL
    assert settings.spark_master == "local[*]"
    assert settings.open_meteo_url == "https://air-quality-api.open-meteo.com"
    assert settings.warehouse == (tmp_path / "warehouse").as_uri()
    assert settings.partitions_start == date(2024, 1, 1)
    assert not settings.api_key_set


def test_cluster_profile_defaults_to_yarn() -> None:
    assert load_settings({"AQI_ENV": "cluster"}).spark_master == "yarn"
    assert load_settings(
        {"AQI_ENV": "cluster", "AQI_SPARK_MASTER": "spark://h:7077"}
    ).spark_master == ("spark://h:7077")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AQI_ENV": "prod"}, "AQI_ENV='prod' must be 'local' or 'cluster'"),
        ({"AQI_PARTITIONS_START": "2024-13-01"}, "is not a date"),
        ({"AQI_OPEN_METEO_URL": "ftp://x"}, "must be an http(s) URL"),
        ({"AQI_BREAKPOINTS": "who"}, "must be 'epa_2024' or 'epa_pre_2024'"),
        ({"AQI_EPISODE_MIN_HOURS": "0"}, "must be at least 1"),
        ({"AQI_SHORT_RUN_MAX_DAYS": "a week"}, "AQI_SHORT_RUN_MAX_DAYS='a week' is not an integer"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(env)


def test_partitions_start_in_the_future_is_refused() -> None:
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    with pytest.raises(SettingsError, match="is in the future"):
        load_settings({"AQI_PARTITIONS_START": tomorrow})


def test_unwritable_warehouse_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SettingsError, match="cannot be written"):
        check_warehouse_writable((blocker / "warehouse").as_uri())


def test_shipped_reference_data() -> None:
    locations = load_locations()
    assert [loc.key for loc in locations] == ["hanoi", "danang", "hcmc"]
    assert locations[0].latitude == pytest.approx(21.0285)
    assert len(load_pollutants()) == 10


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON"),
        ("[]", "non-empty JSON list"),
        (
            json.dumps(
                [{"location_key": "a", "latitude": 1, "longitude": 2, "time_zone": "UTC"}] * 2
            ),
            "appears more than once",
        ),
        (json.dumps([{"location_key": "a", "latitude": 91, "longitude": 2}]), "out of range"),
        (
            json.dumps([{"location_key": "a", "latitude": 1, "longitude": 2}]),
            "location 'a' has no time_zone",
        ),
        (
            json.dumps(
                [{"location_key": "a", "latitude": 1, "longitude": 2, "time_zone": "Hanoi"}]
            ),
            "unknown time_zone 'Hanoi'",
        ),
        (
            json.dumps([{"location_key": "a", "latitude": "x", "longitude": 2}]),
            "needs a float field 'latitude'",
        ),
    ],
)
def test_bad_locations_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "locations.json"
    path.write_text(content)
    with pytest.raises(ReferenceDataError, match=message):
        load_locations(path)


def test_missing_locations_file(tmp_path: Path) -> None:
    with pytest.raises(ReferenceDataError, match="Cannot read the locations file"):
        load_locations(tmp_path / "missing.json")


def test_a_resource_built_outside_dagster_reads_its_secret_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Secret-bearing settings reach the resource as dg.EnvVar; a script (docs/analysts.md, the
    YARN smoke job) builds it without Dagster and must still get their values."""
    monkeypatch.setenv("AQI_SPARK_CONF", '{"spark.sql.session.timeZone": "UTC"}')
    monkeypatch.setenv("AQI_WAREHOUSE", (tmp_path / "wh").as_uri())
    resource = spark_resource(load_settings())
    assert build_spark_conf(resource)["spark.sql.session.timeZone"] == "UTC"
