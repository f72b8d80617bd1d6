"""Bad environments fail early with one clear line: Java missing or too old; secrets never leak."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from aqi_assets.catalog.registry import BRONZE_RAW
from aqi_assets.config.reference import load_locations
from aqi_assets.dev.local_open_meteo import LocalOpenMeteo
from aqi_assets_tests.materialize import materialize_range
from aqi_assets_tests.open_meteo_client import open_meteo_client
from resources.open_meteo.client import OpenMeteoAPIError
from resources.spark.spark_conf import SparkConfigError, java_major_version, require_java

SECRET = "s3cr3t-Key-123"


def fake_java(folder: Path, version_line: str) -> None:
    java = folder / "java"
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    java.chmod(0o755)


def test_java_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SparkConfigError, match="`java` is not on PATH"):
        require_java()


@pytest.mark.parametrize(
    ("line", "major"),
    [
        ('openjdk version "11.0.2" 2019-01-15', 11),
        ('java version "1.8.0_281"', 8),
        ('openjdk version "17.0.15" 2025-04-15', 17),
    ],
)
def test_java_version_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str, major: int
) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    fake_java(tmp_path, line)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}/usr/bin:/bin")
    assert java_major_version() == major


def test_old_java_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bin").mkdir()
    fake_java(tmp_path / "bin", 'openjdk version "11.0.2" 2019-01-15')
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(SparkConfigError, match=r"needs Java 17\+, found Java 11"):
        require_java()


def test_api_key_never_leaks(lakehouse_assets, pipeline_resources) -> None:
    with LocalOpenMeteo(api_key=SECRET) as server:
        client = open_meteo_client(base_url=server.base_url, api_key=SECRET, backoff_factor=0.01)
        resources = {**pipeline_resources, "open_meteo": client}
        result = materialize_range(
            lakehouse_assets, date(2024, 1, 1), date(2024, 1, 1), resources, BRONZE_RAW.asset
        )
        assert result.success
        assert server.requests_log[-1]["apikey"] == SECRET, "the key is sent to the API"
        sources = (
            pipeline_resources["lakehouse"].read_arrow(*BRONZE_RAW.table)["source"].to_pylist()
        )
        assert sources
        assert not any(SECRET in s for s in sources)
        for event in result.all_events:
            assert SECRET not in (event.message or "")
            assert SECRET not in repr(event.event_specific_data)

        wrong = open_meteo_client(
            base_url=server.base_url, api_key="wrong-" + SECRET, backoff_factor=0.01
        )
        with pytest.raises(OpenMeteoAPIError) as error:
            wrong.fetch_hourly(load_locations()[:1], date(2024, 1, 1), date(2024, 1, 1))
        assert "API key is missing or invalid" in str(error.value)
        assert SECRET not in str(error.value)


def test_ui_binds_to_loopback_by_default() -> None:
    script = (Path(__file__).resolve().parents[2] / "scripts" / "dev").read_text()
    assert '-h "${AQI_UI_HOST:-127.0.0.1}"' in script
