"""The real-time soak's sampler: it follows only its own instance's processes and says what grew."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from aqi_assets.dev.soak_sampler import rss_by_process, verdict


@pytest.fixture
def two_instances(tmp_path: Path) -> Iterator[tuple[str, int, int]]:
    """Two 'dagster' processes of two instances (DAGSTER_HOME differs): (home, mine, other)."""
    mine_home, other_home = str(tmp_path / "mine"), str(tmp_path / "other")
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)", "dagster"]
    mine = subprocess.Popen(sleeper, env={**os.environ, "DAGSTER_HOME": mine_home})
    other = subprocess.Popen(sleeper, env={**os.environ, "DAGSTER_HOME": other_home})
    try:
        yield mine_home, mine.pid, other.pid
    finally:
        for proc in (mine, other):
            proc.kill()
            proc.wait()


def test_memory_is_read_only_for_the_instance_being_soaked(two_instances) -> None:
    home, mine, other = two_instances
    pids = {int(key.split(":")[0]) for key in rss_by_process(home)}
    assert mine in pids
    assert other not in pids


def sample(runs: int, rows: int, temp: int, rss: dict[str, float], failed: int = 0) -> dict:
    """One sample; its runs are refreshes of `rows` event rows and a freshness check of 20."""
    per_run = {"open_days_refresh": [rows]} if rows else {}
    return {
        "runs": runs,
        "failed_runs": failed,
        "event_rows": rows + 20,
        "rows_per_run": {**per_run, "__ASSET_JOB": [20]},
        "temp_entries": temp,
        "rss_mb": rss,
    }


FLAT = [
    sample(1, 900, 50, {"1:dagster": 300.0}),  # the first run from empty: not judged
    sample(1, 250, 40, {"1:dagster": 320.0}),
    sample(0, 0, 40, {"1:dagster": 330.0}),
    sample(1, 248, 40, {"1:dagster": 335.0, "7:java": 900.0}),
    sample(0, 0, 40, {"1:dagster": 331.0}),
]


def test_a_flat_soak_has_no_problem() -> None:
    assert verdict(FLAT) == []


def test_what_grows_is_named() -> None:
    grown = [*FLAT[:-1], sample(1, 400, 55, {"1:dagster": 480.0})]
    problems = verdict(grown)
    assert any("event rows per open_days_refresh run vary" in p for p in problems)
    assert any("temp entries grew: 40 -> 55" in p for p in problems)
    assert any("1:dagster memory rose" in p for p in problems)


def test_a_failed_run_is_a_problem() -> None:
    assert verdict([*FLAT, sample(1, 250, 40, {}, failed=1)]) == ["a run failed"]
