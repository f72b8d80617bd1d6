"""Configuration that would pass at load and fail later is refused at load, saying what to write."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from aqi_assets.config.reference import ReferenceDataError, load_locations
from aqi_assets.config.settings import SettingsError, load_settings
from resources.open_meteo import model_run
from resources.open_meteo.model_run import ModelRun, read_model_run


def _locations(tmp_path: Path, zone: str) -> Path:
    path = tmp_path / "locations.json"
    row = {"location_key": "a", "latitude": 1, "longitude": 2, "time_zone": zone}
    path.write_text(json.dumps([row]))
    return path


@pytest.mark.parametrize(
    ("zone", "instead"),
    [
        ("localtime", "'Asia/Ho_Chi_Minh'"),
        ("Factory", "'Asia/Ho_Chi_Minh'"),
        ("posixrules", "'Asia/Ho_Chi_Minh'"),
        ("right/UTC", "write 'UTC'"),
        ("posix/Asia/Bangkok", "write 'Asia/Bangkok'"),
    ],
)
def test_zones_java_does_not_know_are_refused(tmp_path: Path, zone: str, instead: str) -> None:
    with pytest.raises(ReferenceDataError, match="Java may not know") as raised:
        load_locations(_locations(tmp_path, zone))
    assert repr(zone) in str(raised.value)
    assert instead in str(raised.value)


@pytest.mark.parametrize("zone", ["Asia/Ho_Chi_Minh", "UTC", "Etc/UTC", "Etc/GMT-7", "GMT"])
def test_region_utc_and_etc_zones_are_accepted(tmp_path: Path, zone: str) -> None:
    assert load_locations(_locations(tmp_path, zone))[0].time_zone == zone


@pytest.mark.parametrize("raw", ["warehouse", "./warehouse", "~/wh", "file:warehouse"])
def test_a_warehouse_relative_to_the_working_directory_is_refused(raw: str) -> None:
    with pytest.raises(SettingsError, match="absolute path or URI") as raised:
        load_settings({"AQI_WAREHOUSE": raw})
    expanded = Path(raw.removeprefix("file:")).expanduser().resolve()
    assert str(expanded) in str(raised.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://customer-air-quality-api.open-meteo.com?apikey=abc",
        "https://customer-air-quality-api.open-meteo.com/?apikey=abc",
        "https://customer-air-quality-api.open-meteo.com#apikey=abc",
    ],
)
def test_an_api_url_with_a_query_or_fragment_is_refused(url: str) -> None:
    with pytest.raises(SettingsError, match="AQI_OPEN_METEO_API_KEY") as raised:
        load_settings({"AQI_OPEN_METEO_URL": url})
    message = str(raised.value)
    assert "https://customer-air-quality-api.open-meteo.com" in message
    assert "abc" not in message, "the key is never shown"


class _Answer:
    """A `meta.json` answer made at `made` announcing a run initialised at `run`."""

    status_code = 200

    def __init__(self, made: datetime | None, run: datetime) -> None:
        self.headers = {"Date": format_datetime(made, usegmt=True)} if made else {}
        self.body = {
            "last_run_initialisation_time": int(run.timestamp()),
            "last_run_availability_time": int(run.timestamp()),
        }

    def json(self) -> dict[str, int]:
        return self.body


@pytest.mark.parametrize("made", [datetime(2026, 3, 10, 9, 30, tzinfo=UTC), None])
def test_a_model_run_in_the_future_is_unknown_with_a_warning(
    made: datetime | None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    run = (made or datetime.now(UTC)).replace(microsecond=0) + timedelta(hours=6)
    monkeypatch.setattr(model_run.requests, "get", lambda *a, **k: _Answer(made, run))
    with caplog.at_level(logging.WARNING):
        assert read_model_run("http://meta") is None
    assert "in the future" in caplog.text
    assert run.isoformat() in caplog.text


def test_a_model_run_before_the_answer_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    made = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
    run = made - timedelta(hours=9, minutes=30)
    monkeypatch.setattr(model_run.requests, "get", lambda *a, **k: _Answer(made, run))
    assert read_model_run("http://meta") == ModelRun(run, run)
