"""Against Open-Meteo's limiter (the local server enforces it): paced fetches, 429s by their
reason, deadlines, and two processes spending one budget. Windows are shortened by the same
factor on both sides, so a 'minute' passes in a few seconds of real pacing."""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
import requests

from aqi_assets.catalog.pollutants import REQUESTED_VARIABLES
from aqi_assets.catalog.registry import BRONZE_RAW, FACT_AQI_FORECAST
from aqi_assets.config.reference import load_locations
from aqi_assets.config.settings import SettingsError, load_settings
from aqi_assets.dev.local_open_meteo import LocalOpenMeteo
from aqi_assets_tests.materialize import materialize_range
from aqi_assets_tests.open_meteo_client import open_meteo_client
from resources.open_meteo.api_call import ApiCall, CallPolicy, Need
from resources.open_meteo.api_limits import REASONS, RateLimits, request_weight
from resources.open_meteo.client import OpenMeteoBudgetError
from resources.open_meteo.rate_budget import BudgetLedger
from resources.spark.run_tags import RANGE_END_TAG, RANGE_START_TAG

ONE_DAY = {
    "latitude": "21.0285",
    "longitude": "105.8542",
    "hourly": ",".join(REQUESTED_VARIABLES),
    "start_date": "2024-01-01",
    "end_date": "2024-01-01",
}
# The catalogue's variables for one location and day (1.1 weighted calls for 11 variables).
VARIABLES = len(REQUESTED_VARIABLES)
WEIGHT = request_weight(1, VARIABLES, 1)


@pytest.fixture
def limited() -> LocalOpenMeteo:
    """A server of its own, so its limiter's windows hold only this test's calls."""
    with LocalOpenMeteo() as server:
        yield server


def _get(server: LocalOpenMeteo, **params: str) -> requests.Response:
    return requests.get(
        f"{server.base_url}/v1/air-quality", params={**ONE_DAY, **params}, timeout=10
    )


@pytest.mark.parametrize(
    ("limits", "window"), [("3/min", "minute"), ("100/min,2/h", "hour"), ("2/d", "day")]
)
def test_server_refuses_once_usage_reached_the_limit_with_the_exact_reason(
    limited, limits, window
) -> None:
    limited.limiter.configure(limits)
    served = []
    while (answer := _get(limited)).status_code == 200:
        served.append(answer)
    assert answer.status_code == 429
    assert answer.json() == {"error": True, "reason": REASONS[window]}
    limit = float(limits.split(",")[-1].split("/")[0])
    # Each call weighs WEIGHT (1 location, 1 day): served while usage < limit, crossing it once.
    assert len(served) == int(limit / WEIGHT) + 1
    assert limited.limiter.stats()["peak"][window] == pytest.approx(WEIGHT * len(served))


def test_server_weighs_requests_like_calculate_query_weight(limited) -> None:
    limited.limiter.configure("100000/d")
    _get(
        limited, latitude="1,2,3", longitude="1,2,3", start_date="2024-01-01", end_date="2024-03-31"
    )
    assert limited.limiter.stats()["peak"]["day"] == pytest.approx(request_weight(3, VARIABLES, 91))


def _seconds_left(window: float) -> float:
    return window - time.time() % window


def test_two_months_of_3_cities_under_10_calls_a_minute_land_paced_and_complete(
    lakehouse_assets, pipeline_resources, limited
) -> None:
    scale = 1 / 20  # a 'minute' of 3 s
    limited.limiter.configure("10/min", time_scale=scale)
    client = open_meteo_client(
        base_url=limited.base_url, rate_limits="10/min", rate_window_scale=scale
    )
    first, last = date(2024, 1, 1), date(2024, 2, 29)
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        lakehouse_assets,
        selection=[BRONZE_RAW.asset],
        resources={**pipeline_resources, "open_meteo": client},
        tags={RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()},
        instance=instance,
    )
    reader = pipeline_resources["lakehouse"]
    assert reader.row_count(*BRONZE_RAW.table) == 3 * 60 * 24
    table = reader.read_arrow(*BRONZE_RAW.table, selected_fields=("location_key", "time"))
    pairs = set(zip(table["location_key"].to_pylist(), table["time"].to_pylist(), strict=True))
    assert len(pairs) == 3 * 60 * 24, "every location and hour exactly once"
    stats = limited.limiter.stats()
    assert stats["peak"]["minute"] <= 10, "the client never filled a window past its limit"
    assert sum(stats["refused"].values()) <= 1, "at most the occasional 429 at a window's edge"
    per_window = Counter(int(t // 3) for t, _ in limited.limiter.served)
    assert len(limited.limiter.served) >= 3
    assert max(per_window.values()) <= 2, "two requests a window: paced, not bursted"
    assert len(per_window) >= 2
    event = result.asset_materializations_for_node(BRONZE_RAW.asset)[0]
    assert event.metadata["weighted_calls"].value == pytest.approx(
        request_weight(3, VARIABLES, 60), abs=0.2
    )
    messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    [plan] = [m for m in messages if m.startswith("Open-Meteo fetch plan:")]
    assert (
        f"3 locations \u00d7 60 days (2024-01-01..2024-02-29), {VARIABLES} variables: 3 requests"
        in plan
    )
    assert "Limits: 10/min" in plan


def test_a_minute_limit_429_waits_for_the_next_minute_and_is_no_retry(limited) -> None:
    scale = 1 / 30  # a 'minute' of 2 s
    limited.limiter.configure("3/min", time_scale=scale)
    # The client does not know the server's limits: only the 429 tells it.
    client = open_meteo_client(
        base_url=limited.base_url, rate_limits="off", rate_window_scale=scale, max_retries=0
    )
    days = [date(2024, 1, d) for d in range(1, 5)]
    for day in days:  # four 3-city requests of 3 x WEIGHT: the minute refuses the second
        result = client.fetch_hourly(load_locations(), day, day)
        assert len(result.items) == 3
    assert limited.limiter.stats()["refused"] == {"minute": 3}
    served = [t for t, _ in limited.limiter.served]
    assert len({int(t // 2) for t in served}) == 4, "each request waited for a fresh minute"
    assert client.rate_limits == "off"
    assert open_meteo_client(base_url=limited.base_url).limits().off, "local server: no limits"
    free = open_meteo_client(base_url="https://air-quality-api.open-meteo.com")
    assert free.limits().describe() == "600/min, 5,000/h, 10,000/d"


def _spend_the_hour(server: LocalOpenMeteo, hour: float) -> None:
    """Another client on the same address fills the hour, early in a fresh hour window."""
    if _seconds_left(hour) < hour * 0.6:
        time.sleep(_seconds_left(hour) + 0.05)
    assert _get(server, latitude="1,2,3,4,5", longitude="1,2,3,4,5").status_code == 200


@pytest.mark.parametrize("deadline", [0.5, 20.0], ids=["short-deadline", "long-deadline"])
def test_an_hour_limit_429_fails_fast_or_waits_by_the_deadline(limited, deadline) -> None:
    scale = 4 / 3600  # an 'hour' of 4 s
    limited.limiter.configure("1000/min,5/h", time_scale=scale)
    client = open_meteo_client(
        base_url=limited.base_url,
        rate_limits="1000/min,5/h",
        rate_window_scale=scale,
        deadline_seconds=deadline,
    )
    _spend_the_hour(limited, 4.0)
    began = time.monotonic()
    if deadline < 1:
        with pytest.raises(OpenMeteoBudgetError) as error:
            client.fetch_hourly(load_locations(), date(2024, 1, 1), date(2024, 1, 1))
        assert time.monotonic() - began < 1, "fails at once"
        text = str(error.value)
        assert "5 of 5 weighted calls are used in this hour, 0 left" in text
        # Requests weigh at most half the hour's limit: 2 of the 3 cities, then 1.
        needs = (
            f"needs {2 * WEIGHT:.1f} weighted calls; the fetch still needs {3 * WEIGHT:.1f} in 2"
        )
        assert f"This request {needs}" in text
        assert "It can resume at" in text
        assert "AQI_OPEN_METEO_DEADLINE" in text
        assert error.value.window == "hour"
    else:
        result = client.fetch_hourly(load_locations(), date(2024, 1, 1), date(2024, 1, 1))
        assert len(result.items) == 3
        assert time.monotonic() - began < 5, "waited for the next hour window only"
        assert result.api_calls == 3, "two requests, and the one attempt refused"
    assert limited.limiter.stats()["refused"] == {"hour": 1}


def test_a_spent_budget_fails_bronze_without_a_retry(
    lakehouse_assets, pipeline_resources, limited
) -> None:
    scale = 8 / 3600
    limited.limiter.configure("1000/min,5/h", time_scale=scale)
    client = open_meteo_client(
        base_url=limited.base_url,
        rate_limits="1000/min,5/h",
        rate_window_scale=scale,
        deadline_seconds=0.5,
    )
    _spend_the_hour(limited, 8.0)
    day = date(2024, 1, 1)
    result = materialize_range(
        lakehouse_assets,
        day,
        day,
        {**pipeline_resources, "open_meteo": client},
        BRONZE_RAW.asset,
        raise_on_error=False,
    )
    assert not result.success
    types = [e.event_type for e in result.all_events]
    assert dg.DagsterEventType.STEP_UP_FOR_RETRY not in types
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert "Open-Meteo's budget is spent for this hour" in failure.step_failure_data.error.message
    assert not pipeline_resources["lakehouse"].table_exists(*BRONZE_RAW.table)


def _fetch_in_process(base_url: str, ledger: str, scale: float, out) -> None:
    client = open_meteo_client(
        base_url=base_url, rate_limits="10/min", rate_window_scale=scale, ledger_path=ledger
    )
    result = client.fetch_hourly(load_locations(), date(2024, 1, 1), date(2024, 2, 29))
    out.put((len(result.items), result.api_calls))


def test_two_processes_sharing_the_ledger_stay_under_the_limit_together(
    limited, tmp_path: Path
) -> None:
    # A 'minute' of 4 s: the client's landing margin (1 s a minute) is then 67 ms, more than a
    # request takes to reach the server on a loaded machine.
    scale = 1 / 15
    limited.limiter.configure("10/min", time_scale=scale)
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    args = (limited.base_url, str(tmp_path / "budget.sqlite"), scale, out)
    workers = [context.Process(target=_fetch_in_process, args=args) for _ in range(2)]
    for worker in workers:
        worker.start()
    results = [out.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
    assert [items for items, _ in results] == [9, 9], "3 requests of 3 locations each"
    stats = limited.limiter.stats()
    assert stats["peak"]["minute"] <= 10
    assert sum(stats["refused"].values()) <= 1
    per_window = Counter(int(t // 4) for t, _ in limited.limiter.served)
    assert max(per_window.values()) <= 2


def test_no_request_leaves_in_the_last_moment_of_a_window(limited) -> None:
    """The server counts a request when it arrives: one sent just before a window turns could be
    counted in the next window, which the ledger did not charge. The client waits for the turn."""
    minute_start = 1_767_225_600.0  # a minute boundary
    clock = {"now": minute_start + 59.5}  # half a second before the next one
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock["now"] += seconds

    ledger = BudgetLedger(None, "host", RateLimits.parse("600/min"))
    call = ApiCall(
        requests.Session(),
        f"{limited.base_url}/v1/air-quality",
        ONE_DAY,
        "one day",
        ledger,
        CallPolicy(clock=lambda: clock["now"], sleep=sleep),
        Need(weight=WEIGHT, reserve=0.0, fetch_weight=WEIGHT, fetch_requests=1),
    )
    call.run()
    assert slept == [pytest.approx(0.5)]
    assert ledger.usage(minute_start + 30) == {"minute": 0.0}
    assert ledger.usage(minute_start + 60) == {"minute": WEIGHT}
    # A request with more than the margin left goes at once.
    clock["now"] = minute_start + 120 + 58.0
    call.run()
    assert slept == [pytest.approx(0.5)]
    assert ledger.usage(minute_start + 120) == {"minute": WEIGHT}


def test_budget_settings_are_read_and_checked(tmp_path: Path) -> None:
    settings = load_settings({"DAGSTER_HOME": str(tmp_path)})
    assert settings.api_budget.rate_limits == "600/min,5000/h,10000/d"
    assert settings.api_budget.deadline_seconds == 3600
    assert settings.api_budget.ledger_path == str(tmp_path / "open_meteo_budget.sqlite")
    assert load_settings({"AQI_OPEN_METEO_RATE_LIMITS": "off"}).api_budget.rate_limits == "off"
    for url, limits in [
        ("https://customer-air-quality-api.open-meteo.com", "off"),
        ("http://127.0.0.1:8765", "off"),
        ("https://air-quality-api.open-meteo.com", "600/min,5000/h,10000/d"),
    ]:
        assert load_settings({"AQI_OPEN_METEO_URL": url}).api_budget.rate_limits == limits
    with pytest.raises(SettingsError, match="AQI_OPEN_METEO_RATE_LIMITS: '600 a minute'"):
        load_settings({"AQI_OPEN_METEO_RATE_LIMITS": "600 a minute"})
    with pytest.raises(SettingsError, match="AQI_OPEN_METEO_DEADLINE='soon' is not a number"):
        load_settings({"AQI_OPEN_METEO_DEADLINE": "soon"})


def test_the_forecast_is_a_refresh_it_goes_while_a_backfill_holds_the_hour(
    lakehouse_assets, pipeline_resources, open_meteo_server, tmp_path: Path
) -> None:
    """A backfill filled the hour up to what it may use; the refresh's reserve is the forecast's."""
    limits = "5000/h,100000/d"
    client = open_meteo_client(
        open_meteo_server.base_url,
        rate_limits=limits,
        ledger_path=str(tmp_path / "budget.sqlite"),
        deadline_seconds=0.5,
    )
    ledger = BudgetLedger(client.ledger_path, client.public_base_url, RateLimits.parse(limits))
    if _seconds_left(3600) < 120:
        time.sleep(_seconds_left(3600) + 0.05)  # the whole test in one hour window
    assert ledger.try_spend(4499.0, time.time).spent
    assert client.plan(load_locations(), date(2024, 1, 1), date(2024, 1, 3)).bulk
    result = dg.materialize(
        lakehouse_assets,
        selection=[FACT_AQI_FORECAST.asset],
        resources={**pipeline_resources, "open_meteo": client},
        raise_on_error=False,
    )
    failures = [
        e.step_failure_data.error.message
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.STEP_FAILURE
    ]
    assert result.success, failures
    assert ledger.usage(time.time)["hour"] > 4499.0, "the forecast spent the refresh's reserve"
