"""docs/analysts.md: both code blocks, run as written on a warehouse the pipeline built."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pyarrow.compute as pc
import pytest

from aqi_assets.catalog import registry
from aqi_assets.config.pipeline_config import PipelineConfig
from aqi_assets_tests.conftest import make_spark_resource
from aqi_assets_tests.materialize import materialize_range, materialize_reference
from aqi_assets_tests.open_meteo_client import open_meteo_client
from resources.iceberg.lakehouse_reader import LakehouseReader

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "analysts.md"
# Across the end of "last winter" in the doc (2025-12-01..2026-02-28): 14 days in, 2 out.
FIRST, LAST = date(2026, 2, 15), date(2026, 3, 2)
WINTER = (date(2025, 12, 1), date(2026, 2, 28))
CITY = "Ha Noi"
RESULTS = "import json\nprint(json.dumps({'worst_days': W, 'hours_above_150': H}, default=str))\n"


def doc_blocks() -> list[str]:
    """The Python code blocks of the doc: pyiceberg + DuckDB first, Spark SQL second."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    assert len(blocks) == 2, "docs/analysts.md should hold exactly two Python blocks"
    return blocks


@pytest.fixture(scope="module")
def warehouse_built(lakehouse_assets, spark, open_meteo_server, tmp_path_factory) -> Path:
    """The pipeline over FIRST..LAST on the local server, shared by both blocks' tests."""
    warehouse = tmp_path_factory.mktemp("analyst") / "warehouse"
    warehouse.mkdir()
    open_meteo_server.clear_faults()
    resources = {
        "spark": make_spark_resource(warehouse, catalog_name="analyst"),
        "open_meteo": open_meteo_client(base_url=open_meteo_server.base_url, backoff_factor=0.01),
        "lakehouse": LakehouseReader(warehouse=warehouse.as_uri()),
        "pipeline": PipelineConfig(),
    }
    materialize_reference(lakehouse_assets, resources)
    materialize_range(lakehouse_assets, FIRST, LAST, resources)
    return warehouse


def expected(warehouse: Path) -> dict[str, list]:
    """The two answers computed by hand from the gold tables (hours from the hourly fact)."""
    reader = LakehouseReader(warehouse=warehouse.as_uri())
    names = {
        r["location_key"]: r["location_name"]
        for r in reader.read_arrow(*registry.DIM_LOCATION.table).to_pylist()
    }
    days = [
        r
        for r in reader.read_arrow(*registry.FACT_CITY_DAILY.table).to_pylist()
        if names[r["location_key"]] == CITY and WINTER[0] <= r["date_utc"] <= WINTER[1]
    ]
    days.sort(key=lambda r: (r["daily_aqi"] is None, -(r["daily_aqi"] or 0), r["date_utc"]))
    worst = [[str(r["date_utc"]), r["daily_aqi"], r["max_aqi"], r["avg_pm25"]] for r in days[:10]]
    hours = reader.read_arrow(*registry.FACT_HOURLY.table)
    if "is_forecast" in hours.column_names:
        hours = hours.filter(pc.invert(pc.fill_null(hours["is_forecast"], False)))
    months = {(names[k], f"{d:%Y-%m}") for k in names for d in (FIRST, LAST)}
    above = Counter(
        (names[r["location_key"]], f"{r['ts_utc']:%Y-%m}")
        for r in hours.to_pylist()
        if r["aqi"] is not None and r["aqi"] > 150
    )
    return {
        "worst_days": worst,
        "hours_above_150": [[city, month, above[city, month]] for city, month in sorted(months)],
    }


def as_lists(rows) -> list[list]:
    return [[str(v) if isinstance(v, date) else v for v in row] for row in rows]


def test_python_block_answers_both_questions_without_a_jvm(
    warehouse_built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AQI_WAREHOUSE", warehouse_built.as_uri())
    scope: dict = {}
    exec(compile(doc_blocks()[0], str(DOC), "exec"), scope)
    want = expected(warehouse_built)
    assert len(want["worst_days"]) == 10
    assert any(hours for _, _, hours in want["hours_above_150"])
    assert as_lists(scope["worst_days"].fetchall()) == want["worst_days"]
    assert as_lists(scope["hours_above_150"].fetchall()) == want["hours_above_150"]


def test_spark_sql_block_answers_both_questions_through_the_configured_catalog(
    warehouse_built: Path, tmp_path: Path
) -> None:
    code = doc_blocks()[1] + RESULTS.replace(
        "W", "[list(r) for r in worst_days.collect()]"
    ).replace("H", "[list(r) for r in hours_above_150.collect()]")
    env = {
        **os.environ,
        "AQI_WAREHOUSE": warehouse_built.as_uri(),
        "AQI_HOME": str(tmp_path),
        "AQI_SPARK_UI": "off",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answers = json.loads(done.stdout.strip().splitlines()[-1])
    want = expected(warehouse_built)
    assert answers["worst_days"] == want["worst_days"]
    assert answers["hours_above_150"] == want["hours_above_150"]
