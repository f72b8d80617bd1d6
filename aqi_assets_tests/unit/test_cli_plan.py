"""`aqi backfill` shows the Open-Meteo plan first; --dry-run stops there; a plan over budget needs --yes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aqi_assets.catalog import registry
from aqi_assets.cli.main import main
from aqi_assets.dev.dagster_dev import free_port

FIRST, LAST = "2024-01-01", "2025-10-16"  # 655 days


@pytest.fixture
def hundred_locations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """AQI_LOCATIONS_PATH: 100 locations on a grid; AQI_HOME and DAGSTER_HOME: scratch; the free tier's limits."""
    rows = [
        {
            "location_key": f"loc{i:03d}",
            "location_name": f"Grid {i}",
            "latitude": 8.0 + (i % 10) * 1.5,
            "longitude": 100.0 + (i // 10) * 1.2,
            "time_zone": "Asia/Ho_Chi_Minh",
        }
        for i in range(100)
    ]
    path = tmp_path / "locations.json"
    path.write_text(json.dumps(rows))
    monkeypatch.setenv("AQI_LOCATIONS_PATH", str(path))
    monkeypatch.setenv("AQI_HOME", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))  # the budget ledger starts empty
    monkeypatch.setenv("AQI_OPEN_METEO_RATE_LIMITS", "600/min,5000/h,10000/d")  # the free tier
    return path


def dead_ui() -> str:
    return f"http://127.0.0.1:{free_port()}"


def test_dry_run_prints_the_plan_and_launches_nothing(hundred_locations, capsys) -> None:
    assert main(["backfill", FIRST, LAST, "--dry-run", "--url", dead_ui()]) == 0
    out, err = capsys.readouterr()
    assert "100 locations \u00d7 655 days" in out
    assert "5,146 weighted calls" in out
    assert "Limits:" in out
    assert "Shortest time the budget allows" in out
    assert "Cannot reach" not in err


def test_a_plan_over_the_hours_budget_is_refused_without_yes(hundred_locations, capsys) -> None:
    assert main(["backfill", FIRST, LAST, "--url", dead_ui()]) == 2
    err = capsys.readouterr().err
    assert "5,146 weighted calls" in err
    assert "needs more than the hour's" in err
    assert "--yes" in err
    assert "Cannot reach" not in err  # refused before any launch


def test_yes_launches_a_plan_over_budget(hundred_locations, capsys) -> None:
    url = dead_ui()
    assert main(["backfill", FIRST, LAST, "--yes", "--url", url]) == 1
    assert f"Cannot reach the Dagster UI at {url}" in capsys.readouterr().err


def test_a_plan_within_budget_goes_ahead_after_showing_it(capsys) -> None:
    url = dead_ui()
    assert main(["backfill", "2024-01-01", "2024-01-03", "--url", url]) == 1
    err = capsys.readouterr().err
    assert "\u00d7 3 days" in err
    assert err.index("weighted calls") < err.index(f"Cannot reach the Dagster UI at {url}")


def test_a_selection_without_the_ingest_makes_no_requests(capsys) -> None:
    downstream = next(
        a for a in registry.PARTITIONED_ASSETS if a not in {registry.BRONZE_RAW.asset}
    )
    assert main(["backfill", FIRST, LAST, "--select", downstream, "--dry-run"]) == 0
    assert "No Open-Meteo requests" in capsys.readouterr().out


def test_an_unknown_asset_is_refused_before_anything_else(capsys) -> None:
    assert main(["backfill", FIRST, LAST, "--select", "no_such_table", "--dry-run"]) == 2
    assert "unknown assets ['no_such_table']" in capsys.readouterr().err
