"""A broken or locked budget ledger fails with its real cause, its path and what to do."""

from __future__ import annotations

import logging
import sqlite3
import time
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pytest

from aqi_assets.cli.main import main
from aqi_assets.config.reference import load_locations
from aqi_assets.ingest.bronze_raw import fetch_or_fail
from aqi_assets_tests.open_meteo_client import open_meteo_client
from resources.open_meteo.client import OpenMeteoError, OpenMeteoResource
from resources.open_meteo.rate_budget import LEDGER_FILE, BudgetLedger

LIMITS = "600/min,5000/h,10000/d"
DAY = date(2024, 1, 1)


def _garbage(path: Path) -> Path:
    path.write_bytes(b"this is not an SQLite file, " * 100)
    return path


def _client(path: Path, deadline: float = 3600.0) -> OpenMeteoResource:
    return open_meteo_client(
        base_url="http://127.0.0.1:9",
        rate_limits=LIMITS,
        ledger_path=str(path),
        deadline_seconds=deadline,
    )


def test_a_garbage_ledger_names_its_cause_its_path_and_the_fix(tmp_path: Path) -> None:
    path = _garbage(tmp_path / LEDGER_FILE)
    with pytest.raises(OpenMeteoError) as raised:
        _client(path).plan(load_locations(), DAY, DAY)
    message = str(raised.value)
    assert "file is not a database" in message
    assert str(path) in message
    assert "delete" in message
    assert "rollback" not in message


def test_a_locked_ledger_waits_no_longer_than_the_deadline(tmp_path: Path) -> None:
    path = tmp_path / LEDGER_FILE
    BudgetLedger(path, "host", _client(path).limits()).usage(time.time())  # the file exists
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process in the middle of a long transaction
    try:
        started = time.monotonic()
        with pytest.raises(OpenMeteoError) as raised:
            _client(path, deadline=1.0).plan(load_locations(), DAY, DAY)
        waited = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert waited < 10, f"waited {waited:.0f} s for a deadline of 1 s"
    message = str(raised.value)
    assert "database is locked" in message
    assert str(path) in message
    assert "AQI_OPEN_METEO_DEADLINE" in message


def test_the_asset_fails_without_a_retry(tmp_path: Path) -> None:
    client = _client(_garbage(tmp_path / LEDGER_FILE))
    context = SimpleNamespace(log=logging.getLogger("test"))
    with pytest.raises(dg.Failure) as raised:
        next(fetch_or_fail(context, client, load_locations(), DAY, DAY))
    assert raised.value.allow_retries is False
    assert "file is not a database" in str(raised.value)


def test_the_cli_prints_the_message_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _garbage(tmp_path / LEDGER_FILE)
    monkeypatch.setenv("AQI_HOME", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.setenv("AQI_OPEN_METEO_RATE_LIMITS", LIMITS)
    assert main(["backfill", "2024-01-01", "2024-01-31", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert str(path) in err
    assert "Traceback" not in err
