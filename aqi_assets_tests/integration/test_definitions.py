"""The code location loads, validates, and its asset graph matches the reviewed snapshot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from aqi_assets.catalog.registry import PARTITIONED_ASSETS
from aqi_assets.config.settings import load_settings
from aqi_assets.definitions import build_definitions

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = Path(__file__).parents[1] / "snapshots" / "asset_graph.json"


def graph_summary(defs: dg.Definitions) -> dict:
    """Asset keys with their deps, group, kinds, partitioning, pool and checks; sensors."""
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "partitioned": node.is_partitioned,
            "pool": node.pools and sorted(node.pools),
            "automation": node.automation_condition.get_label()
            if node.automation_condition
            else None,
            "checks": sorted(c.name for c in graph.get_check_keys_for_assets({key})),
            "has_description": bool(node.description),
        }
    return {"assets": assets, "sensors": sorted(s.name for s in defs.sensors or [])}


@pytest.fixture(scope="module")
def defs(tmp_path_factory: pytest.TempPathFactory) -> dg.Definitions:
    warehouse = tmp_path_factory.mktemp("defs-warehouse")
    return build_definitions(load_settings({"AQI_WAREHOUSE": warehouse.as_uri()}))


def test_asset_graph_matches_snapshot(defs: dg.Definitions) -> None:
    summary = graph_summary(defs)
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    assert summary == json.loads(SNAPSHOT.read_text()), (
        "asset graph changed: review, then UPDATE_SNAPSHOTS=1"
    )


def test_every_time_based_asset_is_daily_partitioned_with_single_run_backfills(
    defs: dg.Definitions,
) -> None:
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        # Reference dimensions, the AQI forecast (days to come) and the report are not time-based.
        if key.to_user_string() not in PARTITIONED_ASSETS:
            assert not node.is_partitioned, key
            continue
        assert isinstance(node.partitions_def, dg.DailyPartitionsDefinition), key
        assert node.partitions_def.timezone == "UTC"
        assert node.backfill_policy == dg.BackfillPolicy.single_run(), key


def test_dagster_cli_validates_the_code_location(tmp_path: Path) -> None:
    env = {**os.environ, "AQI_WAREHOUSE": (tmp_path / "wh").as_uri(), "DAGSTER_HOME": str(tmp_path)}
    dagster = Path(sys.executable).parent / "dagster"
    done = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", str(ROOT / "workspace.yaml")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_bad_configuration_fails_the_load_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "locations.json"
    bad.write_text(
        json.dumps([{"location_key": "x", "latitude": 1, "longitude": 2, "time_zone": "UTC"}] * 2)
    )
    env = {
        **os.environ,
        "AQI_LOCATIONS_PATH": str(bad),
        "AQI_WAREHOUSE": (tmp_path / "wh").as_uri(),
    }
    done = subprocess.run(
        [sys.executable, "-c", "import aqi_assets.definitions"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "location key 'x' appears more than once" in done.stderr.splitlines()[-1]
