"""`air_quality_report`: the page of every city's air, rebuilt after the gold facts change."""

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
from pydantic import Field

from aqi_assets.alerts.city_levels import levels_metadata
from aqi_assets.catalog import registry
from aqi_assets.config.pipeline_config import PipelineConfig
from aqi_assets.config.settings import project_home
from aqi_assets.report.page import render, write_atomically
from aqi_assets.report.page_data import load_report
from aqi_assets.report.summary import markdown
from resources.iceberg.lakehouse_reader import LakehouseReader, TableNotFoundError

AIR_QUALITY_REPORT = "air_quality_report"
REPORT_KEY = dg.AssetKey(AIR_QUALITY_REPORT)
REPORT_GROUP = "report"
# The tables the page reads.
UPSTREAM: tuple[registry.TableSpec, ...] = (
    registry.DIM_LOCATION,
    registry.FACT_HOURLY,
    registry.FACT_CITY_DAILY,
    registry.FACT_EPISODE,
    registry.FACT_AQI_FORECAST,
)


class ReportConfig(dg.Config):
    """Where the page is written; the default is `<AQI_HOME>/reports`."""

    folder: str = Field(default="", description="Folder of the page; empty: <AQI_HOME>/reports.")

    def page(self) -> Path:
        """The page's path."""
        folder = Path(self.folder).expanduser() if self.folder else project_home() / "reports"
        return folder / f"{AIR_QUALITY_REPORT}.html"


@dg.asset(
    name=AIR_QUALITY_REPORT,
    group_name=REPORT_GROUP,
    deps=[spec.key for spec in UPSTREAM],
    kinds={"html"},
    # Nothing to show before the tables it reads exist: the step then materializes nothing.
    output_required=False,
    # One build at a time; the page is replaced atomically either way.
    pool=AIR_QUALITY_REPORT,
    description=(
        "One self-contained HTML page (no network needed) with each city's current AQI, the last "
        "7 days hour by hour over the EPA category bands, a calendar of daily AQI over the whole "
        "history, the episodes of the last 30 days and the forecast's daily peaks; replaced "
        "atomically under <AQI_HOME>/reports/. Its materialization summarises every city."
    ),
)
def air_quality_report(
    context: dg.AssetExecutionContext,
    lakehouse: LakehouseReader,
    pipeline: PipelineConfig,
    config: ReportConfig,
) -> Iterator[dg.MaterializeResult]:
    started = time.perf_counter()
    zones = {loc.key: loc.time_zone for loc in pipeline.locations()}
    try:
        report = load_report(lakehouse, zones)
    except TableNotFoundError as exc:
        context.log.warning(f"No report yet: {exc} The page is built once the table exists.")
        return
    path = config.page()
    size = write_atomically(path, render(report, datetime.now(UTC)))
    seconds = round(time.perf_counter() - started, 3)
    context.log.info(f"Report of {len(report.cities)} cities written to {path} ({size} bytes)")
    headlines = [c.headline for c in report.cities if c.headline is not None]
    # A number per run, so the UI plots the worst city's AQI over time.
    worst = {"highest_aqi_now": max(headlines)} if headlines else {}
    yield dg.MaterializeResult(
        metadata={
            **worst,
            "summary": dg.MetadataValue.md(markdown(report)),
            "report_path": dg.MetadataValue.path(str(path)),
            "as_of": report.as_of.isoformat() if report.as_of else "no data",
            "cities": len(report.cities),
            "page_bytes": size,
            "build_seconds": seconds,
            # Each city's levels for the air-quality alert sensor, which reads no tables.
            **levels_metadata(report),
        }
    )
