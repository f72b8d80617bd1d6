"""The hourly refresh: today and every day whose data is not final yet, bronze to report.

A day is final once it was fetched from a model run started at or after its end (for CAMS the
next day's 00Z run, available about 10:00 UTC). The sensor learns what each day was fetched
from out of the instance (the `model_run_at` entry of bronze_raw's materializations), and which
run the API serves now from `meta.json` (free of the rate limits): no Spark, no API call.
Each refresh is one run of the `open_days_refresh` job: bronze, silver and every gold table of
those days, then the forecast and the report (the `hourly_refresh` automation only covers
what no refresh run does: late upstream changes, manual materializations).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta

import dagster as dg

from aqi_assets.catalog.registry import BRONZE_RAW, FACT_AQI_FORECAST
from aqi_assets.orchestration.jobs import REFRESH_JOB, refresh_selection
from aqi_assets.quality.metadata import utc_now
from resources.open_meteo.client import OpenMeteoResource
from resources.open_meteo.model_run import META_PATH, ModelRun, is_final, read_model_run
from resources.spark.run_tags import RANGE_END_TAG, RANGE_START_TAG

SENSOR_NAME = "ingest_open_days"
# bronze_raw's materialization metadata: the run its answer came from, or UNKNOWN_RUN.
MODEL_RUN_ENTRY = "model_run_at"
# The tag on each requested run: the model run the API served when the sensor asked for it.
MODEL_RUN_TAG = "aqi/model_run_at"
SENSOR_INTERVAL_SECONDS = 15
UNKNOWN_RUN = "unknown"
# How far back a day still waiting for its final run is looked for.
LOOKBACK_DAYS = 7
# Minute of the hour the refresh starts (the API's hourly values land around the hour).
INGEST_MINUTE = 5
NOT_FETCHED = "not fetched"
META_WARNING = (
    "Open-Meteo's model-run metadata ({url}) cannot be read, so which days are final is "
    "unknown: refreshing today and yesterday only until it answers again. Check that "
    "AQI_OPEN_METEO_URL serves it (it does not count against the API limits)."
)


def model_run_entry(run: ModelRun | None) -> str:
    """The `model_run_at` metadata value for answers fetched while `run` was the latest."""
    return run.initialised_at.isoformat() if run else UNKNOWN_RUN


def fetched_runs(instance: dg.DagsterInstance, days: list[date]) -> dict[date, object]:
    """For each day: the model run its latest bronze_raw materialization was fetched from.

    None when that run was unknown, NOT_FETCHED when the day was never materialized.
    """
    found: dict[date, object] = {}
    for day in days:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=BRONZE_RAW.key, asset_partitions=[day.isoformat()]),
            limit=1,
        ).records
        if not records:
            found[day] = NOT_FETCHED
            continue
        entry = records[0].asset_materialization.metadata.get(MODEL_RUN_ENTRY)
        text = getattr(entry, "value", None)
        try:
            found[day] = datetime.fromisoformat(text) if text and text != UNKNOWN_RUN else None
        except (TypeError, ValueError):
            found[day] = None
    return found


def days_to_refresh(today: date, fetched: dict[date, object], run_known: bool) -> list[date]:
    """Today plus every earlier day not final yet; today and yesterday when finality is unknown.

    A day never fetched is left to backfills, except yesterday (a new deployment's first night).
    """
    yesterday = today - timedelta(days=1)
    if not run_known:
        return [yesterday, today]
    open_days = []
    for day in sorted(fetched):
        run = fetched[day]
        if run is NOT_FETCHED or run is None:
            if day == yesterday:
                open_days.append(day)
        elif not is_final(day, run):  # type: ignore[arg-type]
            open_days.append(day)
    return [*open_days, today]


def ranges(days: list[date]) -> Iterator[tuple[date, date]]:
    """Runs of consecutive days as (first, last)."""
    first = last = None
    for day in sorted(days):
        if last is not None and day == last + timedelta(days=1):
            last = day
            continue
        if first is not None:
            yield first, last
        first = last = day
    if first is not None:
        yield first, last


def run_ranges(days: list[date], today: date) -> list[tuple[date, date]]:
    """The day ranges of the refresh runs: consecutive days, each extended by the next day.

    A local day east of UTC (Viet Nam) spans two UTC days, so refreshing UTC day D changes
    fact_city_daily_local's day D+1 too: the run covers it (refetching that day, already
    final, is one more day of one request). Ranges that then touch are merged into one run.
    """
    merged: list[tuple[date, date]] = []
    for first, last in ranges(days):
        last = min(last + timedelta(days=1), today)
        if merged and first <= merged[-1][1] + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(last, merged[-1][1]))
        else:
            merged.append((first, last))
    return merged


@dataclass(frozen=True)
class Cursor:
    """What the sensor last did: the hour it refreshed, the run then served, whether it warned."""

    hour: str | None = None
    run: str | None = None
    warned: bool = False

    @classmethod
    def parse(cls, text: str | None) -> Cursor:
        try:
            return cls(**json.loads(text)) if text else cls()
        except (TypeError, ValueError):
            return cls()

    def dump(self) -> str:
        return json.dumps(asdict(self))


def refresh_requests(
    instance: dg.DagsterInstance,
    now: datetime,
    cursor: Cursor,
    run: ModelRun | None,
    log: Callable[[str], None],
    meta_url: str = META_PATH,
) -> tuple[list[dg.RunRequest], Cursor]:
    """The runs to request at `now` and the next cursor.

    Due once an hour (at minute INGEST_MINUTE) and as soon as a new model run is served: that is
    the only moment the answers change.
    """
    hour = (now - timedelta(minutes=INGEST_MINUTE)).astimezone(UTC).strftime("%Y-%m-%dT%H")
    run_text = model_run_entry(run)
    warned = cursor.warned
    if run is None and not warned:
        log(META_WARNING.format(url=meta_url))
        warned = True
    elif run is not None:
        warned = False
    if cursor.hour == hour and cursor.run == run_text:
        return [], Cursor(hour, run_text, warned)
    today = now.astimezone(UTC).date()
    lookback = [today - timedelta(days=n) for n in range(LOOKBACK_DAYS, 0, -1)]
    days = days_to_refresh(today, fetched_runs(instance, lookback), run is not None)
    requests = []
    for first, last in run_ranges(days, today):
        span = f"{first.isoformat()}...{last.isoformat()}"
        requests.append(
            dg.RunRequest(
                run_key=f"{hour}|{run_text}|{span}",
                job_name=REFRESH_JOB,
                asset_selection=refresh_selection(ends_today=last == today),
                tags={
                    RANGE_START_TAG: first.isoformat(),
                    RANGE_END_TAG: last.isoformat(),
                    MODEL_RUN_TAG: run_text,
                },
            )
        )
    return requests, Cursor(hour, run_text, warned)


def open_days_sensor(running: bool, clock: Callable[[], datetime] = utc_now) -> dg.SensorDefinition:
    """The sensor requesting one refresh run for today and the open days, report included."""

    @dg.sensor(
        name=SENSOR_NAME,
        job_name=REFRESH_JOB,
        # A new model run waits for the next tick: 15 s (a small static meta.json read) keeps that
        # wait short beside a 3-location refresh of about 35 s (docs/performance.md).
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING
        if running
        else dg.DefaultSensorStatus.STOPPED,
        description=(
            "Hourly, and whenever Open-Meteo serves a new model run: one run refreshing today "
            "and every day not final yet (fetched before the next day's 00Z run), bronze_raw "
            f"to every gold table and the dimensions, then {FACT_AQI_FORECAST.asset} and the "
            "report. hourly_refresh covers late upstream changes and manual materializations."
        ),
    )
    def ingest_open_days(
        context: dg.SensorEvaluationContext, open_meteo: OpenMeteoResource
    ) -> dg.SensorResult:
        run = read_model_run(open_meteo.base_url)
        requests, cursor = refresh_requests(
            context.instance,
            clock(),
            Cursor.parse(context.cursor),
            run,
            context.log.warning,
            f"{open_meteo.public_base_url}{META_PATH}",
        )
        return dg.SensorResult(run_requests=requests, cursor=cursor.dump())

    return ingest_open_days
