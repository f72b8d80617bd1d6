"""Answers that once lost hours without an error: nearly valid times (now refused by the client,
before anything is written), a later invalid reading, fewer configured variables, values that
are not numbers (refused by the client too; Spark still fails on them if one got through)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import dagster as dg
import pytest

from aqi_assets.catalog.pollutants import REQUESTED_VARIABLES
from aqi_assets.ingest.final_errors import no_retry_for_answer_faults
from aqi_assets.transforms.aqi.epa_pm25 import AqiTable
from aqi_assets.transforms.bronze_rows import bronze_frame, payload_frame
from aqi_assets.transforms.fetch_flags import with_fetch_flags
from aqi_assets.transforms.silver_rows import split_ranked, with_reasons
from resources.open_meteo.answers import match_items
from resources.open_meteo.client import LocationPayload, OpenMeteoResponseError

DAY = date(2024, 1, 1)
EARLY, LATE = datetime(2024, 1, 2, 0, 5, tzinfo=UTC), datetime(2024, 1, 2, 1, 5, tzinfo=UTC)


def _item(server, variables=REQUESTED_VARIABLES) -> dict:
    """Ha Noi's real answer for DAY from the local server."""
    return server.answer(
        {
            "latitude": "21.0285",
            "longitude": "105.8542",
            "hourly": ",".join(variables),
            "start_date": DAY.isoformat(),
            "end_date": DAY.isoformat(),
        }
    )


def silver_and_rejects(bronze, at: datetime):
    """What silver_hourly does with Ha Noi's bronze rows: reasons, then the split."""
    ranked, _ = with_reasons(bronze, ["hanoi"])
    return split_ranked(ranked, AqiTable.EPA_2024, at)


def _bronze(spark, item: dict, batch: str, at: datetime, variables=REQUESTED_VARIABLES):
    payload = LocationPayload("hanoi", DAY, DAY, "http://local/v1/air-quality", json.dumps(item))
    rows = bronze_frame(payload_frame(spark, [payload]), at, batch_id=batch, variables=variables)
    return with_fetch_flags(rows, at, None)  # as bronze_raw writes them


def test_nearly_valid_times_are_refused_by_the_client_naming_the_first(open_meteo_server) -> None:
    item = _item(open_meteo_server)
    item["hourly"]["time"][5] = "2024-01-01T05:00:00"
    item["hourly"]["time"][6] = "2024-01-01T6:00"
    with pytest.raises(OpenMeteoResponseError, match="nothing was written") as error:
        match_items(item, ["hanoi"], REQUESTED_VARIABLES, DAY, DAY, "http://local/v1/air-quality")
    assert "'hanoi' 2024-01-01..2024-01-01 has '2024-01-01T05:00:00' at hour 5, " in str(
        error.value
    )
    assert "'2024-01-01T05:00' expected" in str(error.value)


def test_a_later_invalid_reading_never_supersedes_a_valid_one(spark, open_meteo_server) -> None:
    valid = _item(open_meteo_server)
    later = json.loads(json.dumps(valid))
    later["hourly"]["pm2_5"][3] = -5.0
    bronze = _bronze(spark, valid, "b1", EARLY).union(_bronze(spark, later, "b2", LATE))
    silver, rejects = silver_and_rejects(bronze, LATE)
    kept = {r["ts_utc"].hour: r for r in silver.collect()}
    assert len(kept) == 24, "every hour kept"
    assert kept[3]["batch_id"] == "b1"
    assert kept[3]["pm25"] == valid["hourly"]["pm2_5"][3]
    assert {r["batch_id"] for h, r in kept.items() if h != 3} == {"b2"}
    reasons = sorted((r["batch_id"], r["reason"]) for r in rejects.collect())
    assert reasons.count(("b1", "duplicate_superseded")) == 23
    assert ("b2", "negative_value:pm25") in reasons
    assert len(reasons) == 24


def test_fewer_configured_variables_still_give_every_hour(spark, open_meteo_server) -> None:
    few = ["pm2_5", "pm10"]
    rows = _bronze(spark, _item(open_meteo_server, few), "b1", EARLY, few).collect()
    assert len(rows) == 24
    assert all(r["pm2_5"] is not None and r["pm10"] is not None for r in rows)
    assert all(r["ozone"] is None for r in rows), "variables not requested are null columns"


def test_a_series_that_is_not_numbers_fails_naming_location_and_variable(
    spark, open_meteo_server
) -> None:
    item = _item(open_meteo_server)
    item["hourly"]["pm10"] = ["n/a"] * 24
    with pytest.raises(Exception, match=r"'hanoi': the series of 'pm10' cannot be read as numbers"):
        _bronze(spark, item, "b1", EARLY).collect()
    # The same answer fails the same way again: the step fails without a retry (which would
    # ask Open-Meteo again).
    refused = pytest.raises(dg.Failure, match="cannot be read as numbers")
    with refused as failure, no_retry_for_answer_faults("Writing bronze_raw"):
        _bronze(spark, item, "b1", EARLY).collect()
    assert failure.value.allow_retries is False
    # What may pass is left to the retry policy.
    with pytest.raises(ConnectionResetError), no_retry_for_answer_faults("Writing bronze_raw"):
        raise ConnectionResetError("executor lost")
