"""The air-quality report on gold tables the pipeline built: page, UI summary, refresh."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pyarrow.compute as pc
import pytest

from aqi_assets.catalog import registry
from aqi_assets.config.pipeline_config import PipelineConfig
from aqi_assets.config.settings import load_settings
from aqi_assets.definitions import build_definitions
from aqi_assets.report.asset import AIR_QUALITY_REPORT, REPORT_KEY, ReportConfig
from aqi_assets.report.page import render, write_atomically
from aqi_assets.report.page_data import City, ReportData
from aqi_assets.report.summary import markdown
from aqi_assets_tests.conftest import make_spark_resource
from aqi_assets_tests.materialize import materialize_range, materialize_reference
from aqi_assets_tests.open_meteo_client import open_meteo_client
from resources.iceberg.lakehouse_reader import LakehouseReader

DAYS = 8
FORECAST = registry.FACT_AQI_FORECAST
_ids = itertools.count()


@dataclass
class Built:
    """The warehouse, the report's materializations (before and after the forecast) and page."""

    reader: LakehouseReader
    locations: list
    before_forecast: dict
    page_before_forecast: str
    after_forecast: dict | None
    page: Path


def report_metadata(assets, resources, folder: ReportConfig) -> dict:
    result = dg.materialize(
        assets,
        selection=[AIR_QUALITY_REPORT],
        resources=resources,
        run_config=dg.RunConfig(ops={AIR_QUALITY_REPORT: folder}),
    )
    (event,) = result.asset_materializations_for_node(AIR_QUALITY_REPORT)
    return {k: v.value for k, v in event.metadata.items()}


@pytest.fixture(scope="module")
def built(lakehouse_assets, spark, open_meteo_server, tmp_path_factory) -> Built:
    """The pipeline over the last 8 days up to today on the local server, then the report."""
    root = tmp_path_factory.mktemp("report")
    warehouse = root / "warehouse"
    warehouse.mkdir()
    reader = LakehouseReader(warehouse=warehouse.as_uri())
    resources = {
        "spark": make_spark_resource(warehouse, catalog_name=f"report{next(_ids)}"),
        "open_meteo": open_meteo_client(base_url=open_meteo_server.base_url, backoff_factor=0.01),
        "lakehouse": reader,
        "pipeline": PipelineConfig(),
    }
    folder = ReportConfig(folder=str(root / "reports"))
    open_meteo_server.clear_faults()
    open_meteo_server.clock.set(None)
    today = datetime.now(UTC).date()
    materialize_reference(lakehouse_assets, resources)
    materialize_range(lakehouse_assets, today - timedelta(days=DAYS - 1), today, resources)
    before = report_metadata(lakehouse_assets, resources, folder)
    page = folder.page()
    page_before = page.read_text()
    after = None
    if FORECAST is not None:
        dg.materialize(lakehouse_assets, selection=[FORECAST.asset], resources=resources)
        after = report_metadata(lakehouse_assets, resources, folder)
    return Built(reader, PipelineConfig().locations(), before, page_before, after, page)


def latest_past_hours(reader: LakehouseReader) -> dict[str, tuple[datetime, int]]:
    """Each location's latest hour that has happened and has an AQI, read straight from gold,
    with the AQI the page leads with (NowCast when the table has it)."""
    hours = reader.read_arrow(*registry.FACT_HOURLY.table)
    if "is_forecast" in hours.column_names:
        hours = hours.filter(pc.invert(pc.fill_null(hours["is_forecast"], False)))
    latest: dict[str, tuple[datetime, int]] = {}
    for row in hours.filter(pc.is_valid(hours["aqi"])).to_pylist():
        key = row["location_key"]
        if key not in latest or row["ts_utc"] > latest[key][0]:
            nowcast = row.get("nowcast_aqi")
            latest[key] = (row["ts_utc"], row["aqi"] if nowcast is None else nowcast)
    return latest


def summary_rows(markdown: str) -> dict[str, list[str]]:
    rows = [line.strip("|").split("|") for line in markdown.splitlines() if line.startswith("| ")]
    header, *body = [[cell.strip() for cell in row] for row in rows]
    return {row[0]: dict(zip(header, row, strict=True)) for row in body}


def test_summary_shows_each_city_now_and_the_page_path(built: Built) -> None:
    meta = built.before_forecast
    assert Path(meta["report_path"]) == built.page
    assert built.page.is_file()
    assert meta["page_bytes"] == len(built.page_before_forecast.encode())
    assert meta["cities"] == len(built.locations)
    rows = summary_rows(meta["summary"])
    latest = latest_past_hours(built.reader)
    for location in built.locations:
        row = rows[location.name]
        aqi = latest[location.key][1]
        assert row["now"].startswith(f"{aqi} "), row
        worst, today = int(row["worst of 7 days"].split()[0]), int(row["today's max"].split()[0])
        assert today <= worst
        assert len(row["daily max, 7 days"].strip("`")) == 7
    assert meta["highest_aqi_now"] == max(aqi for _, aqi in latest.values())
    assert datetime.fromisoformat(meta["as_of"]) == max(ts for ts, _ in latest.values())
    assert datetime.fromisoformat(meta["as_of"]) <= datetime.now(UTC)


def test_forecast_appears_once_the_table_exists(built: Built) -> None:
    if FORECAST is None:
        pytest.skip("the registry declares no forecast table yet")
    assert "forecast max" not in built.before_forecast["summary"]
    assert 'class="chart forecast"' not in built.page_before_forecast
    rows = summary_rows(built.after_forecast["summary"])
    forecast = built.reader.read_arrow(*FORECAST.table).to_pylist()
    as_of = datetime.fromisoformat(built.after_forecast["as_of"])
    for location in built.locations:
        today = as_of.astimezone(ZoneInfo(location.time_zone)).date()
        expected = max(
            r["aqi"]
            for r in forecast
            if r["location_key"] == location.key and r["date_local"] >= today
        )
        assert rows[location.name]["forecast max"].startswith(f"{expected} ")
    page = built.page.read_text()
    assert page.count('class="chart forecast"') == len(built.locations)
    assert "Open-Meteo.com" in page
    assert "CC BY 4.0" in page


def test_page_opens_without_network(built: Built) -> None:
    page = built.page.read_text()
    assert "<script" not in page
    for reference in ("src=", "@import", "url("):
        assert reference not in page
    assert 'href="https://open-meteo.com/"' in page  # the credit links out; nothing loads


def test_page_is_replaced_whole_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    page = tmp_path / "reports" / "page.html"
    write_atomically(page, "old")
    assert write_atomically(page, "new ✓") == len("new ✓".encode())
    assert page.read_text() == "new ✓"
    assert [p.name for p in page.parent.iterdir()] == ["page.html"]


def test_report_follows_any_update_of_the_gold_facts(tmp_path: Path) -> None:
    defs = build_definitions(load_settings({"AQI_WAREHOUSE": tmp_path.as_uri()}))
    start = datetime(2026, 3, 10, 10, tzinfo=UTC)
    with dg.instance_for_test() as instance:
        first = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, evaluation_time=start
        )
        assert first.get_num_requested(REPORT_KEY) == 0
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                registry.FACT_HOURLY.key, partition=date(2026, 3, 10).isoformat()
            )
        )
        second = dg.evaluate_automation_conditions(
            defs=defs,
            instance=instance,
            evaluation_time=start + timedelta(minutes=1),
            cursor=first.cursor,
        )
        assert second.get_num_requested(REPORT_KEY) == 1
        third = dg.evaluate_automation_conditions(
            defs=defs,
            instance=instance,
            evaluation_time=start + timedelta(minutes=2),
            cursor=second.cursor,
        )
        assert third.get_num_requested(REPORT_KEY) == 0


CHARTS_JS = """
return [...document.querySelectorAll('section.city')].map(section => ({
  city: section.id,
  charts: [...section.querySelectorAll('svg.chart')].map(svg => ({
    kind: svg.classList[1],
    width: svg.getBoundingClientRect().width,
    height: svg.getBoundingClientRect().height,
    empty: svg.querySelectorAll('text.empty').length,
    paths: [...svg.querySelectorAll('path.data')].map(p => p.getTotalLength()),
  })),
}));
"""
ARTIFACTS = Path(__file__).with_name("artifacts")


@pytest.mark.browser
def test_every_chart_draws_in_chromium(built: Built, tmp_path: Path) -> None:
    from aqi_assets_tests.browser import WIDTH, headless_chromium

    expected = {"hourly", "calendar", "episodes"} | ({"forecast"} if FORECAST else set())
    with headless_chromium() as driver:
        driver.get(built.page.as_uri())
        sections = driver.execute_script(CHARTS_JS)
        console = driver.get_log("browser")
        loaded = driver.execute_script("return performance.getEntriesByType('resource').length")
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(WIDTH, height + 120)
        shot = tmp_path / "air_quality_report.png"
        assert driver.save_screenshot(str(shot))
    ARTIFACTS.mkdir(exist_ok=True)
    kept = ARTIFACTS / shot.name
    kept.write_bytes(shot.read_bytes())
    print(f"\nscreenshot of the report: {shot} (copy: {kept})")  # noqa: T201
    assert sorted(s["city"] for s in sections) == sorted(loc.key for loc in built.locations)
    for section in sections:
        charts = {c["kind"]: c for c in section["charts"]}
        assert set(charts) == expected, section["city"]
        for kind, chart in charts.items():
            assert chart["width"] > 20, (section["city"], kind)
            assert chart["height"] > 30, (section["city"], kind)
            drawn = [length for length in chart["paths"] if length > 0]
            # The episode strip of a city without episodes says so instead of drawing bars.
            assert drawn or (kind == "episodes" and chart["empty"]), (section["city"], kind)
    assert [entry for entry in console if entry["level"] in ("SEVERE", "WARNING")] == []
    assert loaded == 0


@pytest.mark.parametrize("agency_columns", [True, False])
def test_nowcast_and_vn_aqi_show_when_the_table_has_them(agency_columns: bool) -> None:
    now = datetime(2026, 3, 10, 5, tzinfo=UTC)
    city = City("hanoi", "Ha Noi", ZoneInfo("Asia/Ho_Chi_Minh"), now_ts=now, now_aqi=162)
    city.hourly = {now - timedelta(hours=h): 150 + h for h in range(24)}
    city.daily = {date(2026, 3, 9): 158, date(2026, 3, 10): None}
    if agency_columns:
        city.nowcast_aqi, city.vn_aqi = 171, 183
    report = ReportData(now, [city], agency_columns, agency_columns, has_forecast=False)
    page, summary = render(report, now), markdown(report)
    row = summary_rows(summary)["Ha Noi"]
    assert row["now"] == ("171 Unhealthy" if agency_columns else "162 Unhealthy")
    assert ("NowCast AQI" in page) is agency_columns
    assert (row.get("VN_AQI") == "183") is agency_columns
    assert ('title="VN_AQI">183<' in page) is agency_columns
    assert "forecast" not in summary


def test_before_its_tables_exist_the_report_waits_instead_of_failing(
    lakehouse_assets, pipeline_resources, tmp_path: Path
) -> None:
    """A fresh instance: the automation may ask for the page before the facts were ever built."""
    empty = LakehouseReader(warehouse=(tmp_path / "warehouse").as_uri())
    folder = ReportConfig(folder=str(tmp_path / "reports"))
    result = dg.materialize(
        lakehouse_assets,
        selection=[AIR_QUALITY_REPORT],
        resources={**pipeline_resources, "lakehouse": empty},
        run_config=dg.RunConfig(ops={AIR_QUALITY_REPORT: folder}),
    )
    assert result.success
    assert result.asset_materializations_for_node(AIR_QUALITY_REPORT) == []
    assert not (tmp_path / "reports").exists()
