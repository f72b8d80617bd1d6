"""Property: whatever Open-Meteo sends, every bronze row ends in silver or in rejects, never both,
never neither (nulls, NaN, huge and negative numbers, duplicate, unsorted and broken timestamps)."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aqi_assets.transforms.aqi.epa_pm25 import AqiTable
from aqi_assets.transforms.bronze_rows import API_VARIABLES, bronze_frame, payload_frame
from aqi_assets.transforms.fetch_flags import with_fetch_flags
from aqi_assets.transforms.silver_rows import (
    has_duplicate_hours,
    split_ranked,
    supersede_duplicates,
    validate_bronze,
    with_reasons,
)

KNOWN = ["hanoi", "hcmc"]
NAN = object()  # stands for every NaN in a row compared by `multiset`
HOURS = [f"2024-03-{d:02d}T{h:02d}:00" for d in (9, 10) for h in range(24)]


@dataclass(frozen=True)
class Item:
    location_key: str
    start_date: date
    source: str
    payload: dict

    @property
    def body(self) -> str:
        """The item as the client hands it over: JSON text."""
        return json.dumps(self.payload)


values = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-5, max_value=600),
    st.sampled_from([0.0, -0.1, 1e12, 1500.0, 1500.1]),
)
times = st.one_of(
    st.sampled_from(HOURS),  # duplicates and any order
    st.sampled_from(["2024-03-10T25:00", "not a time", "", "2024-03-10 05:00"]),
)


@st.composite
def items(draw) -> list[Item]:
    found = []
    for key in draw(st.lists(st.sampled_from([*KNOWN, "atlantis"]), min_size=1, max_size=3)):
        n = draw(st.integers(min_value=1, max_value=30))
        hourly = {"time": draw(st.lists(times, min_size=n, max_size=n))}
        for variable in API_VARIABLES:
            hourly[variable] = draw(st.lists(values, min_size=n, max_size=n))
        payload = {"latitude": 21.0, "longitude": 105.8, "elevation": 9.0, "hourly": hourly}
        found.append(Item(key, date(2024, 3, 9), "http://local/v1/air-quality", payload))
    return found


def silver_and_rejects(bronze, at: datetime):
    """What silver_hourly does with bronze rows: reasons (ranking only when hours repeat), split."""
    ranked, _ = with_reasons(bronze, KNOWN)
    return split_ranked(ranked, AqiTable.EPA_2024, at)


def _cached_bronze(spark, batch: list[Item]):
    """The batch as one ingest's bronze rows (with its fetch flags, as bronze_raw writes them),
    computed once for the several reads of a test: a local checkpoint, so that each read plans
    silver's transforms only, not the parsing of the answers again."""
    at = datetime(2024, 3, 10, 12, tzinfo=UTC)
    rows = bronze_frame(payload_frame(spark, batch), at, "batch-1")
    return with_fetch_flags(rows, at, None).localCheckpoint()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=items())
def test_every_row_lands_in_exactly_one_place(spark, batch: list[Item]) -> None:
    bronze = _cached_bronze(spark, batch)
    silver, rejects = silver_and_rejects(bronze, datetime(2024, 3, 10, 13))
    key = ["location_key", "row_hash", "ts_utc"]
    rows_in = Counter(tuple(r) for r in bronze.select(*key).collect())
    silver_rows = silver.select(*key).collect()
    reject_rows = rejects.select(*key, "reason").collect()
    kept = Counter(tuple(r) for r in silver_rows)
    rejected = Counter(tuple(r[:3]) for r in reject_rows)
    assert kept + rejected == rows_in
    assert sum(rows_in.values()) == sum(len(i.payload["hourly"]["time"]) for i in batch)
    assert all(r["reason"] for r in reject_rows)
    hours = Counter((r["location_key"], r["ts_utc"]) for r in silver_rows)
    assert all(n == 1 for n in hours.values()), "one silver row per location and hour"
    bronze.unpersist()


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=items())
def test_ranking_only_when_hours_repeat_changes_nothing(spark, batch: list[Item]) -> None:
    """Silver skips the ranking window when no valid hour repeats: the split must be the same."""
    bronze = _cached_bronze(spark, batch)
    at = datetime(2024, 3, 10, 13)
    always = split_ranked(
        supersede_duplicates(validate_bronze(bronze, KNOWN)), AqiTable.EPA_2024, at
    )
    chosen = silver_and_rejects(bronze, at)
    for ranked, skipped in zip(always, chosen, strict=True):
        # The same multiset of rows (as Spark's exceptAll both ways: NaN equals NaN).
        assert multiset(ranked) == multiset(skipped)
    bronze.unpersist()


def multiset(frame) -> Counter:
    """The frame's rows, counted; NaN made comparable (Python's NaN != NaN, Spark's NaN = NaN)."""
    return Counter(
        tuple(NAN if isinstance(v, float) and math.isnan(v) else v for v in row)
        for row in frame.collect()
    )


def _answer(pm25: float) -> Item:
    hourly = {"time": HOURS[:3], **{v: [1.0, 2.0, 3.0] for v in API_VARIABLES}}
    hourly["pm2_5"] = [pm25] * 3
    payload = {"latitude": 21.0, "longitude": 105.8, "elevation": 9.0, "hourly": hourly}
    return Item("hanoi", date(2024, 3, 9), "http://local/v1/air-quality", payload)


def test_only_valid_repeated_hours_call_for_ranking(spark) -> None:
    def repeated(*items: Item) -> bool:
        bronze = bronze_frame(payload_frame(spark, list(items)), datetime(2024, 3, 10), "b")
        return has_duplicate_hours(validate_bronze(bronze, KNOWN))

    assert not repeated(_answer(5.0))
    assert repeated(_answer(5.0), _answer(6.0))
    # A repeated hour invalid in one copy is rejected for its own reason: nothing to rank.
    assert not repeated(_answer(5.0), _answer(-1.0))
